import { DataError, createRng, deriveSeed, parseConfig, z } from '@multichexnet/core';
import type { Dataset } from '../datasets/dataset';
import { PATHOLOGIES, selectClasses, type Pathology } from '../datasets/pathologies';
import type { LabeledBox } from '../datasets/sample';
import { drawAugment, finishSample, NO_AUGMENT } from '../preprocess/augment';
import { PreprocessConfigSchema, type PreprocessConfig } from '../preprocess/config';
import { fitSample, type FittedSample } from '../preprocess/fit-sample';
import type { Batch } from './batch';
import { createMemoryCache, type SampleCache } from './sample-cache';

/**
 * Turns sample `index` of `dataset` into a fitted sample (decode + resize). The default runs in this thread;
 * `@multichexnet/data/node` offers a sharp-backed one that decodes off the main thread.
 */
export type SampleLoader = (
  dataset: Dataset,
  index: number,
  fit: Pick<PreprocessConfig, 'size' | 'fit' | 'interpolation'>,
) => Promise<FittedSample>;

/** The default {@link SampleLoader}: `dataset.get(i)` then `fitSample`. */
export const loadFittedInThread: SampleLoader = async (dataset, index, fit) => fitSample(await dataset.get(index), fit);

function isDataset(v: unknown): v is Dataset {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Dataset).get === 'function' &&
    Array.isArray((v as Dataset).entries)
  );
}

function isCache(v: unknown): v is SampleCache {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as SampleCache).get === 'function' &&
    typeof (v as SampleCache).set === 'function'
  );
}

/** Options of {@link createBatchStream}. JSON fields (all but datasets, loader and a custom cache) round-trip. */
export const BatchStreamOptionsSchema = z
  .object({
    /** One dataset, or several (concatenated; their labels share `PATHOLOGIES`, so they mix in one batch). */
    datasets: z.union([
      z.custom<Dataset>(isDataset, { message: 'must be a Dataset' }),
      z.array(z.custom<Dataset>(isDataset, { message: 'must be a Dataset' })).min(1),
    ]),
    batchSize: z.number().int().min(1).default(16),
    shuffle: z.boolean().default(true),
    seed: z.number().int().default(0),
    preprocess: PreprocessConfigSchema.default(PreprocessConfigSchema.parse({})),
    /** Apply `preprocess.augment` (training) or not (validation, inference). */
    augment: z.boolean().default(false),
    /** Batches decoded ahead of the consumer. */
    prefetch: z.number().int().min(0).max(64).default(2),
    /** Keep fitted samples between epochs: true (1 GiB in memory), false, a byte budget, or a SampleCache. */
    cache: z
      .union([z.boolean(), z.object({ maxBytes: z.number().positive() }).strict(), z.custom<SampleCache>(isCache)])
      .default(true),
    /** Drop the last, smaller batch of an epoch. */
    dropLast: z.boolean().default(false),
    /** Label columns of the batch (default all of `PATHOLOGIES`). */
    classes: z.array(z.enum(PATHOLOGIES)).min(1).optional(),
    loader: z.custom<SampleLoader>((v) => typeof v === 'function', { message: 'must be a function' }).optional(),
  })
  .strict();

/** What users pass to {@link createBatchStream}. */
export type BatchStreamOptions = z.input<typeof BatchStreamOptionsSchema>;

/** Counters of a stream since its creation. */
export interface BatchStreamStats {
  samples: number;
  batches: number;
  skipped: number;
  /** Wall time the consumer waited for samples that were not ready, in ms (0 = the loader kept up). */
  waitMs: number;
}

/** Batches over one or more datasets; each `for await` runs the next epoch. */
export interface BatchStream extends AsyncIterable<Batch> {
  /** Samples per epoch (before skips). */
  readonly numSamples: number;
  /** Batches per epoch (before skips). */
  readonly batchesPerEpoch: number;
  readonly preprocess: PreprocessConfig;
  readonly classes: readonly Pathology[];
  readonly cache: SampleCache | null;
  readonly stats: BatchStreamStats;
  /** Epoch `n` explicitly (its order and augmentation depend only on seed and n). */
  epoch(n: number): AsyncIterable<Batch>;
}

interface Ref {
  d: number;
  i: number;
}

type Loaded = { ok: true; ref: Ref; k: number; fitted: FittedSample } | { ok: false; ref: Ref; err: unknown };

/**
 * Creates a prefetching stream of {@link Batch}es: seeded shuffle per epoch, decode-ahead of `prefetch`
 * batches, a cache of decoded + resized samples, per-sample seeded augmentation, and the bad-sample policy
 * of each dataset (skipped samples are replaced by the next ones, so batches stay full).
 *
 * @example
 * const stream = createBatchStream({ datasets: [nih, rsna], batchSize: 32, augment: true, seed: 1, preprocess: { size: 256 } });
 * for (let e = 0; e < 10; e++) for await (const batch of stream) { const t = batchToTensors(batch); ...; disposeBatchTensors(t); }
 */
export function createBatchStream(options: BatchStreamOptions): BatchStream {
  const opts = parseConfig(BatchStreamOptionsSchema, options, 'batch stream options');
  const datasets = Array.isArray(opts.datasets) ? opts.datasets : [opts.datasets];
  const pre = opts.preprocess;
  const classes = (opts.classes ?? PATHOLOGIES) as readonly Pathology[];
  const loader = opts.loader ?? loadFittedInThread;
  const cache: SampleCache | null =
    opts.cache === false
      ? null
      : opts.cache === true
        ? createMemoryCache(1024 ** 3)
        : isCache(opts.cache)
          ? opts.cache
          : createMemoryCache((opts.cache as { maxBytes: number }).maxBytes);
  const fit = { size: pre.size, fit: pre.fit, interpolation: pre.interpolation };
  const fitKey = `${pre.size}|${pre.fit}|${pre.interpolation}`;
  const refs: Ref[] = [];
  datasets.forEach((ds, d) => {
    for (let i = 0; i < ds.size; i++) refs.push({ d, i });
  });
  const stats: BatchStreamStats = { samples: 0, batches: 0, skipped: 0, waitMs: 0 };
  let nextEpoch = 0;

  const load = async (ref: Ref, k: number): Promise<Loaded> => {
    const ds = datasets[ref.d] as Dataset;
    try {
      const key = `${ds.source}|${ds.root}|${ds.entry(ref.i).file}|${fitKey}`;
      let fitted = cache === null ? undefined : await cache.get(key);
      if (fitted === undefined) {
        fitted = await loader(ds, ref.i, fit);
        if (cache !== null) await cache.set(key, fitted);
      }
      return { ok: true, ref, k, fitted };
    } catch (err) {
      return { ok: false, ref, err };
    }
  };

  const assemble = (items: Extract<Loaded, { ok: true }>[], epoch: number): Batch => {
    const B = items.length;
    const S = pre.size;
    const C = classes.length;
    const batch: Batch = {
      size: B,
      imageSize: S,
      images: new Float32Array(B * S * S),
      labels: new Float32Array(B * C),
      classes,
      boxes: [],
      masks: new Uint8Array(B * S * S),
      tasks: { cls: new Uint8Array(B), det: new Uint8Array(B), seg: new Uint8Array(B) },
      ids: [],
      patientIds: [],
      sources: [],
    };
    items.forEach((it, b) => {
      const entry = (datasets[it.ref.d] as Dataset).entry(it.ref.i);
      const params = opts.augment
        ? drawAugment(pre.augment, createRng(deriveSeed(opts.seed, `augment:${epoch}:${it.k}`)), S)
        : NO_AUGMENT;
      const m = finishSample(it.fitted, pre, params);
      batch.images.set(m.image, b * S * S);
      if (m.mask !== undefined) batch.masks.set(m.mask, b * S * S);
      const labels = selectClasses(entry.labels, PATHOLOGIES, classes);
      batch.labels.set(labels, b * C);
      batch.boxes.push(m.boxes ?? ([] as LabeledBox[]));
      batch.tasks.cls[b] = labels.some((v) => !Number.isNaN(v)) ? 1 : 0;
      batch.tasks.det[b] = entry.tasks.det ? 1 : 0;
      batch.tasks.seg[b] = entry.tasks.seg && m.mask !== undefined ? 1 : 0;
      batch.ids.push(entry.id);
      batch.patientIds.push(entry.patientId);
      batch.sources.push(entry.source);
    });
    stats.samples += B;
    stats.batches++;
    return batch;
  };

  async function* runEpoch(epoch: number): AsyncGenerator<Batch> {
    const order = opts.shuffle ? createRng(deriveSeed(opts.seed, `order:${epoch}`)).shuffle(refs) : refs;
    const ahead = (opts.prefetch + 1) * opts.batchSize;
    const pending: Promise<Loaded>[] = [];
    let next = 0;
    while (next < order.length && pending.length < ahead) pending.push(load(order[next] as Ref, next++));
    let buf: Extract<Loaded, { ok: true }>[] = [];
    while (pending.length > 0) {
      const t0 = performance.now();
      const r = await (pending.shift() as Promise<Loaded>);
      stats.waitMs += performance.now() - t0;
      if (next < order.length) pending.push(load(order[next] as Ref, next++));
      if (!r.ok) {
        const ds = datasets[r.ref.d] as Dataset;
        if (ds.onBadSample === 'skip' && r.err instanceof DataError) {
          ds.noteSkipped(r.ref.i, r.err);
          stats.skipped++;
          continue;
        }
        throw r.err;
      }
      buf.push(r);
      if (buf.length === opts.batchSize) {
        yield assemble(buf, epoch);
        buf = [];
      }
    }
    if (buf.length > 0 && !opts.dropLast) yield assemble(buf, epoch);
  }

  return {
    numSamples: refs.length,
    batchesPerEpoch: opts.dropLast ? Math.floor(refs.length / opts.batchSize) : Math.ceil(refs.length / opts.batchSize),
    preprocess: pre,
    classes,
    cache,
    stats,
    epoch: (n) => ({ [Symbol.asyncIterator]: () => runEpoch(n) }),
    [Symbol.asyncIterator]: () => runEpoch(nextEpoch++),
  };
}
