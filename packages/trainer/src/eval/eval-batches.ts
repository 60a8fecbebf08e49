import {
  createBatchStream,
  type BatchStream,
  type Dataset,
  type Pathology,
  type PreprocessConfigInput,
  type SampleCache,
} from '@multichexnet/data';

/** How an evaluation pass reads its images. */
export interface EvalPassOptions {
  /** Network input side (the plan's imageSize). */
  imageSize: number;
  /** Preprocessing of the plan (`size` is imageSize); no augmentation is applied. */
  preprocess?: Omit<PreprocessConfigInput, 'size'>;
  /** Images per forward pass (default 32). */
  batchSize?: number;
  cache?: SampleCache;
}

/**
 * The batches of an evaluation pass: every image of `datasets` once, in order, not augmented, preprocessed as the
 * plan says at `imageSize`; labels over `classes` when given (else the datasets' own).
 *
 * @example
 * for await (const batch of evaluationBatches(nih.test, { imageSize: 128 })) console.log(batch.size);
 */
export function evaluationBatches(
  datasets: Dataset | Dataset[],
  options: EvalPassOptions,
  classes?: readonly Pathology[],
): BatchStream {
  return createBatchStream({
    datasets,
    batchSize: options.batchSize ?? 32,
    shuffle: false,
    augment: false,
    preprocess: { ...(options.preprocess ?? {}), size: options.imageSize },
    ...(classes !== undefined ? { classes: [...classes] } : {}),
    prefetch: 1,
    ...(options.cache !== undefined ? { cache: options.cache } : {}),
  });
}
