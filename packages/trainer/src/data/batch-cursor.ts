import { DataError, deriveSeed } from '@multichexnet/core';
import {
  PATHOLOGIES,
  createBatchStream,
  type Batch,
  type Dataset,
  type PreprocessConfigInput,
  type SampleCache,
} from '@multichexnet/data';

/** Options of {@link createBatchCursor}. */
export interface BatchCursorOptions {
  datasets: Dataset[];
  batchSize: number;
  /** Seed of the order and augmentation of every epoch. */
  seed: number;
  preprocess: PreprocessConfigInput;
  augment: boolean;
  /** Shared cache of decoded + resized samples (one per run: every phase and variant reuses it). */
  cache?: SampleCache;
  /** Index of the first batch to return (batch n = epoch floor(n / batchesPerEpoch), position n mod that). */
  start: number;
}

/** An endless, seeded sequence of full training batches. */
export interface BatchCursor {
  /** Batches per epoch. */
  readonly batchesPerEpoch: number;
  next(): Promise<Batch>;
  /** Stops the prefetch. */
  close(): Promise<void>;
}

/**
 * Training batches as a pure function of (seed, batch index): batch n is batch (n mod E) of epoch floor(n / E)
 * of a `createBatchStream` whose epochs are seeded shuffles, E full batches each (the last partial batch is
 * dropped). A resumed run opens the cursor at its next batch index and gets exactly the batches an uninterrupted
 * run got.
 *
 * @example
 * const cursor = createBatchCursor({ datasets: [nih.train], batchSize: 16, seed: 7, preprocess: { size: 128 }, augment: true, start: 0 });
 * const batch = await cursor.next();
 */
export function createBatchCursor(options: BatchCursorOptions): BatchCursor {
  const stream = createBatchStream({
    datasets: options.datasets,
    batchSize: options.batchSize,
    seed: deriveSeed(options.seed, 'batches'),
    shuffle: true,
    preprocess: options.preprocess,
    augment: options.augment,
    dropLast: true,
    classes: [...PATHOLOGIES],
    prefetch: 2,
    ...(options.cache !== undefined ? { cache: options.cache } : {}),
  });
  const E = stream.batchesPerEpoch;
  if (E === 0) {
    throw new DataError('Training set is smaller than one batch', {
      field: 'batchSize',
      expected: `at most ${stream.numSamples} (the samples of ${options.datasets.map((d) => d.source).join(' + ')})`,
      found: String(options.batchSize),
    });
  }
  async function* batches(): AsyncGenerator<Batch> {
    let epoch = Math.floor(options.start / E);
    let skip = options.start % E;
    for (;;) {
      let yielded = 0;
      for await (const batch of stream.epoch(epoch)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        yielded++;
        yield batch;
      }
      if (yielded === 0 && skip === 0) {
        throw new DataError('Training epoch produced no batch (every sample was skipped)', {
          field: 'datasets',
          expected: 'readable samples',
          found: `epoch ${epoch} empty`,
        });
      }
      epoch++;
    }
  }
  const it = batches();
  return {
    batchesPerEpoch: E,
    next: async () => (await it.next()).value as Batch,
    close: async () => {
      await it.return(undefined);
    },
  };
}

/** How many of the first `step` steps of a phase used recipe `r` of `n` (step k uses recipe k mod n). */
export function recipeBatchIndex(step: number, r: number, n: number): number {
  return step > r ? Math.ceil((step - r) / n) : 0;
}
