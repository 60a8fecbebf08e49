import { tf } from '@multichexnet/core';
import type { Batch } from './batch';

/** Tensors of one batch. The caller owns them: dispose with {@link disposeBatchTensors}. */
export interface BatchTensors {
  /** Images [B, S, S, 1], NHWC, float32. */
  images: tf.Tensor4D;
  /** Labels [B, C], float32, NaN where not annotated. */
  labels: tf.Tensor2D;
  /** Label mask [B, C]: 1 where `labels` is annotated, 0 where NaN. */
  labelMask: tf.Tensor2D;
  /** Masks [B, S, S, 1], float32 0/1. */
  masks: tf.Tensor4D;
  /** Task availability [B, 3] (cls, det, seg), float32 0/1. */
  tasks: tf.Tensor2D;
}

/**
 * Batch of typed arrays → tensors (images [B, S, S, 1], labels [B, C], labelMask [B, C], masks [B, S, S, 1],
 * tasks [B, 3]). Boxes stay plain: the detection head builds its own targets from `batch.boxes`.
 *
 * @example
 * const t = batchToTensors(batch);
 * const loss = clsHead.loss(t.labels, out, t.labelMask);
 * disposeBatchTensors(t);
 */
export function batchToTensors(batch: Batch): BatchTensors {
  const B = batch.size;
  const S = batch.imageSize;
  const C = batch.classes.length;
  const labelMask = new Float32Array(B * C);
  for (let i = 0; i < labelMask.length; i++) labelMask[i] = Number.isNaN(batch.labels[i] as number) ? 0 : 1;
  const tasks = new Float32Array(B * 3);
  for (let b = 0; b < B; b++) {
    tasks[b * 3] = batch.tasks.cls[b] as number;
    tasks[b * 3 + 1] = batch.tasks.det[b] as number;
    tasks[b * 3 + 2] = batch.tasks.seg[b] as number;
  }
  return {
    images: tf.tensor4d(batch.images, [B, S, S, 1], 'float32'),
    labels: tf.tensor2d(batch.labels, [B, C], 'float32'),
    labelMask: tf.tensor2d(labelMask, [B, C], 'float32'),
    masks: tf.tensor4d(Float32Array.from(batch.masks), [B, S, S, 1], 'float32'),
    tasks: tf.tensor2d(tasks, [B, 3], 'float32'),
  };
}

/** Disposes every tensor of {@link batchToTensors}. */
export function disposeBatchTensors(t: BatchTensors): void {
  tf.dispose([t.images, t.labels, t.labelMask, t.masks, t.tasks]);
}
