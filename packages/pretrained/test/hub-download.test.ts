import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pretrainedLocation, resolvePretrained, type DownloadProgress } from '../src/index';

// A server on 127.0.0.1 in the Hugging Face hub's URL layout (/<owner>/<repo>/resolve/<revision>/<file>), with
// Range support and the LFS sha256 in X-Linked-Etag, as the hub sends it. Never the internet.
const body = randomBytes(3 * 1024 * 1024 + 17);
const sha = createHash('sha256').update(body).digest('hex');
const requests: { url: string; range: string | undefined }[] = [];
/** When set, the next full-body response is cut after this many bytes (the socket is destroyed). */
let cutAfter: number | null = null;
let server: Server;
let endpoint: string;
const cache = mkdtempSync(join(tmpdir(), 'hub-cache-'));

function serve(req: IncomingMessage, res: ServerResponse): void {
  requests.push({ url: req.url ?? '', range: req.headers.range });
  const files: Record<string, Buffer> = {
    '/org/xray-densenet/resolve/main/model.safetensors': body,
    '/org/xray-densenet/resolve/v2/weights/wrong.bin': body,
  };
  const data = files[req.url ?? ''];
  if (data === undefined) {
    res.writeHead(404).end('not found');
    return;
  }
  const etag = req.url!.includes('wrong') ? '0'.repeat(64) : sha;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  if (start >= data.byteLength && m) {
    res.writeHead(416).end();
    return;
  }
  res.writeHead(m ? 206 : 200, {
    'content-length': String(data.byteLength - start),
    'x-linked-etag': `"${etag}"`,
    ...(m ? { 'content-range': `bytes ${start}-${data.byteLength - 1}/${data.byteLength}` } : {}),
  });
  if (cutAfter !== null) {
    const n = cutAfter;
    cutAfter = null;
    res.write(data.subarray(start, start + n), () => res.destroy());
    return;
  }
  res.end(data.subarray(start));
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(cache, { recursive: true, force: true });
});

describe('downloads of pretrained files (hub layout, cache, SHA-256, resume, progress)', () => {
  it('resolves a repo id in the hub layout, resumes an interrupted download with Range, and then serves it from the cache', async () => {
    const loc = await pretrainedLocation('org/xray-densenet', { endpoint, cacheDir: cache });
    expect(loc.url).toBe(`${endpoint}/org/xray-densenet/resolve/main/model.safetensors`);
    cutAfter = 1024 * 1024;
    await expect(resolvePretrained('org/xray-densenet', { endpoint, cacheDir: cache })).rejects.toThrow(
      /Download (interrupted|ended early) \(run again to resume from the partial file\)/,
    );
    expect(existsSync(`${loc.path}.part`)).toBe(true);
    const partial = statSync(`${loc.path}.part`).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(body.byteLength);
    const progress: DownloadProgress[] = [];
    const got = await resolvePretrained('org/xray-densenet', {
      endpoint,
      cacheDir: cache,
      onProgress: (p) => progress.push(p),
    });
    expect(requests.at(-1)!.range).toBe(`bytes=${partial}-`);
    expect(progress[0]!.received).toBe(partial);
    expect(progress.at(-1)).toEqual({ url: loc.url, received: body.byteLength, total: body.byteLength });
    expect(got).toMatchObject({ path: loc.path, sha256: sha, fromCache: false });
    expect(readFileSync(loc.path).equals(body)).toBe(true);
    const before = requests.length;
    const again = await resolvePretrained('org/xray-densenet', { endpoint, cacheDir: cache });
    expect(again.fromCache).toBe(true);
    expect(requests.length).toBe(before);
  });

  it('refuses a file whose SHA-256 differs (the hub etag or the one given) and caches nothing', async () => {
    const opts = { endpoint, cacheDir: cache, revision: 'v2', file: 'weights/wrong.bin' };
    await expect(resolvePretrained('org/xray-densenet', opts)).rejects.toThrow(
      /wrong SHA-256 \(deleted; nothing cached\) \(file http:\/\/127\.0\.0\.1:\d+\/org\/xray-densenet\/resolve\/v2\/weights\/wrong\.bin, field sha256\): expected 0{64}, found [0-9a-f]{64}/,
    );
    const loc = await pretrainedLocation('org/xray-densenet', opts);
    expect(existsSync(loc.path) || existsSync(`${loc.path}.part`)).toBe(false);
    await expect(
      resolvePretrained(`${endpoint}/org/xray-densenet/resolve/main/model.safetensors`, {
        cacheDir: cache,
        sha256: '1'.repeat(64),
      }),
    ).rejects.toThrow(/expected 1{64}/);
    await expect(resolvePretrained('org/missing', { endpoint, cacheDir: cache })).rejects.toThrow(
      /Download failed \(file .*org\/missing\/resolve\/main\/model\.safetensors\): expected HTTP 200 or 206, found HTTP 404/,
    );
    await expect(resolvePretrained('not a repo', { cacheDir: cache })).rejects.toThrow(
      /Not a URL or a Hugging Face repo id/,
    );
  });

  it('takes the hub from MULTICHEXNET_HF_ENDPOINT', async () => {
    process.env.MULTICHEXNET_HF_ENDPOINT = `${endpoint}/`;
    try {
      expect(
        (await pretrainedLocation('org/xray-densenet', { cacheDir: cache, file: 'a/b.pth', revision: 'v1' })).url,
      ).toBe(`${endpoint}/org/xray-densenet/resolve/v1/a/b.pth`);
    } finally {
      delete process.env.MULTICHEXNET_HF_ENDPOINT;
    }
  });
});
