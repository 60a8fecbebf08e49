import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.dcm': 'application/dicom',
  '.onnx': 'application/octet-stream',
};

/** A static file server on a free loopback port that records every request it answers. */
export interface StaticServer {
  readonly origin: string;
  /** `METHOD /path status` of every request, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * Serves `root` on 127.0.0.1 (a free port) with the same cross-origin isolation headers as `vite preview`.
 * Paths outside `root` are refused.
 */
export async function serveStatic(root: string): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let path = normalize(join(root, decodeURIComponent(url.pathname)));
      let status = 200;
      if (!path.startsWith(root + sep) && path !== root) status = 403;
      else {
        const s = await stat(path).catch(() => null);
        if (s?.isDirectory()) path = join(path, 'index.html');
        else if (s === null) status = 404;
      }
      requests.push(`${req.method} ${url.pathname} ${status}`);
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      if (status !== 200) {
        res.writeHead(status).end();
        return;
      }
      res.setHeader('Content-Type', TYPES[extname(path)] ?? 'application/octet-stream');
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(path)
        .on('error', () => res.destroy())
        .pipe(res);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
