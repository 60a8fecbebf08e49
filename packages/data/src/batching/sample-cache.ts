import type { FittedSample } from '../preprocess/fit-sample';

/**
 * Where fitted (decoded + resized) samples are kept between epochs. The memory cache is built in; the Node
 * entry adds a disk cache (`createDiskCache`) that survives the process.
 */
export interface SampleCache {
  get(key: string): FittedSample | undefined | Promise<FittedSample | undefined>;
  set(key: string, value: FittedSample): void | Promise<void>;
  /** Bytes held (memory caches) or written (disk caches). */
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
}

/** Approximate memory footprint of a fitted sample. */
export function fittedBytes(f: FittedSample): number {
  return f.image.byteLength + (f.mask?.byteLength ?? 0) + 64 * ((f.boxes?.length ?? 0) + 1);
}

/** What a {@link SampleCache} counts (its `bytes`, `hits` and `misses`). */
export interface CacheCounts {
  bytes: number;
  hits: number;
  misses: number;
}

/** A {@link SampleCache} of `get` / `set` and the counts they keep, read through the cache's counters. */
export function countedCache(store: Pick<SampleCache, 'get' | 'set'>, counts: CacheCounts): SampleCache {
  return {
    get: store.get,
    set: store.set,
    get bytes() {
      return counts.bytes;
    },
    get hits() {
      return counts.hits;
    },
    get misses() {
      return counts.misses;
    },
  };
}

/**
 * An in-memory least-recently-used cache bounded by bytes.
 *
 * @example
 * const cache = createMemoryCache(2 * 1024 ** 3); // 2 GiB: about 32k 256-px 8-bit images
 */
export function createMemoryCache(maxBytes: number): SampleCache {
  const map = new Map<string, FittedSample>();
  const counts: CacheCounts = { bytes: 0, hits: 0, misses: 0 };
  return countedCache(
    {
      get(key) {
        const v = map.get(key);
        if (v === undefined) {
          counts.misses++;
          return undefined;
        }
        counts.hits++;
        // refresh recency: Map keeps insertion order
        map.delete(key);
        map.set(key, v);
        return v;
      },
      set(key, value) {
        const size = fittedBytes(value);
        if (size > maxBytes) return;
        const old = map.get(key);
        if (old !== undefined) {
          counts.bytes -= fittedBytes(old);
          map.delete(key);
        }
        map.set(key, value);
        counts.bytes += size;
        for (const [k, v] of map) {
          if (counts.bytes <= maxBytes) break;
          map.delete(k);
          counts.bytes -= fittedBytes(v);
        }
      },
    },
    counts,
  );
}
