import type { Box } from '../types';

/**
 * The labels of one batch as task specs read them to build targets (`@multichexnet/data`'s `Batch` has this shape).
 * `labels` [B, C] over `classes`, NaN = not annotated; `boxes` per image in S x S pixels; `masks` [B, S, S];
 * `tasks[name]` [B] with 1 where the sample carries that task's labels.
 */
export interface LabelBatch {
  readonly size: number;
  /** S, the network input side. */
  readonly imageSize: number;
  readonly labels: Float32Array;
  readonly classes: readonly string[];
  readonly boxes: readonly (readonly Box[])[];
  readonly masks: Uint8Array;
  readonly tasks: Readonly<Record<string, Uint8Array>>;
}
