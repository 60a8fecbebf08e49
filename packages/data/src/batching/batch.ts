import type { Pathology } from '../datasets/pathologies';
import type { LabeledBox, SourceName } from '../datasets/sample';

/**
 * One batch of model inputs as plain typed arrays (turn it into tensors with `batchToTensors`).
 *
 * Layouts: `images` [B, S, S, 1] NHWC normalised; `labels` [B, C] over `classes` with NaN = not annotated;
 * `masks` [B, S, S] (zeros where `tasks.seg` is 0); `tasks.*` [B] with 1 where that task's label exists.
 */
export interface Batch {
  /** B, the number of samples (the last batch of an epoch may be smaller). */
  size: number;
  /** S. */
  imageSize: number;
  /** Images [B, S, S, 1], NHWC, `(x / maxValue - mean) / std`. */
  images: Float32Array;
  /** Labels [B, C], row-major; NaN where the sample's dataset does not annotate the class. */
  labels: Float32Array;
  classes: readonly Pathology[];
  /** Boxes per image in S x S pixels (empty where none or not annotated; see `tasks.det`). */
  boxes: LabeledBox[][];
  /** Masks [B, S, S], 1 = pneumothorax. */
  masks: Uint8Array;
  /** Task availability [B] per task: 1 = the sample has that task's labels. */
  tasks: { cls: Uint8Array; det: Uint8Array; seg: Uint8Array };
  ids: string[];
  patientIds: string[];
  sources: SourceName[];
}
