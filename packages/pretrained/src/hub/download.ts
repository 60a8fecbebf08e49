import { DataError } from '@multichexnet/core';

/** Progress of a download: bytes on disk so far (a resumed download starts above 0) and the total when known. */
export interface DownloadProgress {
  url: string;
  received: number;
  total: number | null;
}

/** Options of {@link downloadToCache}. */
export interface DownloadOptions {
  /**
   * Expected SHA-256 (hex); default the server's `X-Linked-Etag` / `ETag` when it is one (the Hugging Face hub's LFS
   * files).
   */
  sha256?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Extra request headers (e.g. `Authorization: Bearer <token>` for a gated repo). */
  headers?: Record<string, string>;
}

/** What a download left in the cache. */
export interface CachedFile {
  path: string;
  url: string;
  sha256: string;
  /** True when the file was already complete in the cache and nothing was requested. */
  fromCache: boolean;
}

const SHA = /^[0-9a-f]{64}$/;

async function sha256OfFile(path: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { createReadStream } = await import('node:fs');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function etagSha(headers: Headers): string | null {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = headers.get(name)?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    if (v !== undefined && SHA.test(v)) return v;
  }
  return null;
}

/**
 * Downloads `url` to `path` once: a complete file (with its `.sha256` beside it) is reused without a request; a
 * partial `.part` left by an interrupted download is resumed with an HTTP Range request (a server that ignores the
 * range restarts it); the result is checked against the expected SHA-256 before it is moved into place, so the
 * cache never holds a wrong file. Node only.
 *
 * @example
 * const f = await downloadToCache('https://huggingface.co/org/repo/resolve/main/model.safetensors', '/tmp/cache/model.safetensors', { onProgress: console.log });
 */
export async function downloadToCache(url: string, path: string, options: DownloadOptions = {}): Promise<CachedFile> {
  const fs = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const expected = options.sha256?.toLowerCase();
  if (expected !== undefined && !SHA.test(expected))
    throw new DataError('Expected SHA-256 is not 64 hex digits', {
      field: 'sha256',
      expected: '64 hex digits',
      found: options.sha256,
    });
  const sidecar = `${path}.sha256`;
  const recorded = await fs.readFile(sidecar, 'utf8').then(
    (s) => s.trim(),
    () => null,
  );
  if (recorded !== null && (expected === undefined || recorded === expected)) {
    const ok = await fs.access(path).then(
      () => true,
      () => false,
    );
    if (ok && (await sha256OfFile(path)) === recorded) return { path, url, sha256: recorded, fromCache: true };
  }
  await fs.mkdir(dirname(path), { recursive: true });
  const part = `${path}.part`;
  let have = await fs.stat(part).then(
    (s) => s.size,
    () => 0,
  );
  const response = await fetch(url, {
    headers: { ...(options.headers ?? {}), ...(have > 0 ? { Range: `bytes=${have}-` } : {}) },
    redirect: 'follow',
  }).catch((e: unknown) => {
    throw new DataError('Download failed', { file: url, found: (e as Error).message }, { cause: e });
  });
  if (response.status === 416 && have > 0) {
    // The partial file is already complete (the server has no bytes past it): check it below.
  } else if (!response.ok) {
    throw new DataError('Download failed', {
      file: url,
      expected: 'HTTP 200 or 206',
      found: `HTTP ${response.status} ${response.statusText}`,
    });
  } else {
    if (response.status !== 206) have = 0; // the server ignored the range: start over
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    const total = Number.isFinite(length) ? have + length : null;
    const file = await fs.open(part, have > 0 ? 'a' : 'w');
    let received = have;
    try {
      options.onProgress?.({ url, received, total });
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        await file.write(chunk);
        received += chunk.byteLength;
        options.onProgress?.({ url, received, total });
      }
    } catch (e) {
      throw new DataError(
        'Download interrupted (run again to resume from the partial file)',
        {
          file: url,
          expected: total === null ? 'the whole file' : `${total} bytes`,
          found: `${received} bytes in ${part}`,
        },
        { cause: e },
      );
    } finally {
      await file.close();
    }
    if (total !== null && received !== total)
      throw new DataError('Download ended early (run again to resume from the partial file)', {
        file: url,
        expected: `${total} bytes`,
        found: `${received} bytes in ${part}`,
      });
  }
  const want = expected ?? etagSha(response.headers);
  const got = await sha256OfFile(part);
  if (want !== null && got !== want) {
    await fs.rm(part, { force: true });
    throw new DataError('Downloaded file has the wrong SHA-256 (deleted; nothing cached)', {
      file: url,
      field: 'sha256',
      expected: want,
      found: got,
    });
  }
  await fs.rename(part, path);
  await fs.writeFile(sidecar, `${got}\n`);
  return { path, url, sha256: got, fromCache: false };
}
