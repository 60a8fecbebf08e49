import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { countedCache, type CacheCounts, type SampleCache } from '../batching/sample-cache';
import type { FittedSample } from '../preprocess/fit-sample';

const MAGIC = 0x4d435846; // 'MCXF'

function encode(f: FittedSample): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({
      size: f.size,
      imageScale: f.imageScale,
      imageBytes: f.image.byteLength,
      maskBytes: f.mask?.byteLength ?? 0,
      boxes: f.boxes ?? null,
      transform: f.transform,
    }),
  );
  const out = new Uint8Array(8 + header.length + f.image.byteLength + (f.mask?.byteLength ?? 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, header.length, true);
  out.set(header, 8);
  out.set(new Uint8Array(f.image.buffer, f.image.byteOffset, f.image.byteLength), 8 + header.length);
  if (f.mask !== undefined) out.set(f.mask, 8 + header.length + f.image.byteLength);
  return out;
}

function decode(bytes: Uint8Array): FittedSample | undefined {
  if (bytes.length < 8) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) return undefined;
  const hl = dv.getUint32(4, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hl))) as {
    size: number;
    imageScale: 255 | 65535;
    imageBytes: number;
    maskBytes: number;
    boxes: FittedSample['boxes'] | null;
    transform: FittedSample['transform'];
  };
  if (bytes.length !== 8 + hl + h.imageBytes + h.maskBytes) return undefined;
  const imgRaw = bytes.slice(8 + hl, 8 + hl + h.imageBytes);
  const image = h.imageScale === 255 ? imgRaw : new Uint16Array(imgRaw.buffer, 0, h.imageBytes / 2);
  const f: FittedSample = { size: h.size, image, imageScale: h.imageScale, transform: h.transform };
  if (h.maskBytes > 0) f.mask = bytes.slice(8 + hl + h.imageBytes);
  if (h.boxes !== null) f.boxes = h.boxes;
  return f;
}

/**
 * A {@link SampleCache} on disk (Node): one small binary file per fitted sample, named by a hash of the key
 * (dataset root, file, size, fit, interpolation), so a second run (or a second process) skips decoding.
 * Unreadable or truncated entries count as misses.
 *
 * @example
 * const stream = createBatchStream({ datasets: nih, cache: createDiskCache({ dir: 'runs/cache-256' }) });
 */
export function createDiskCache(options: { dir: string }): SampleCache {
  const { dir } = options;
  const counts: CacheCounts = { bytes: 0, hits: 0, misses: 0 };
  let ready: Promise<unknown> | null = null;
  const path = (key: string): string => join(dir, `${createHash('sha1').update(key).digest('hex')}.mcxf`);
  return countedCache(
    {
      async get(key) {
        try {
          const f = decode(new Uint8Array(await readFile(path(key))));
          if (f !== undefined) {
            counts.hits++;
            return f;
          }
        } catch {
          // absent: a miss
        }
        counts.misses++;
        return undefined;
      },
      async set(key, value) {
        ready ??= mkdir(dir, { recursive: true });
        await ready;
        const data = encode(value);
        // tmp + rename: a reader never sees a half-written file (no fsync: a lost cache entry is only a miss)
        const tmp = `${path(key)}.${process.pid}.tmp`;
        await writeFile(tmp, data);
        await rename(tmp, path(key));
        counts.bytes += data.length;
      },
    },
    counts,
  );
}
