import type { Batch } from '@multichexnet/data';

/** Rows [start, end) of a batch, every per-sample field cut alike. */
function rowsOf(batch: Batch, start: number, end: number): Batch {
  const pixels = batch.imageSize * batch.imageSize;
  const C = batch.classes.length;
  // ids / patientIds / sources may be empty (a batch built by hand): cut only what is there.
  const cut = <T>(list: readonly T[]): T[] => (list.length === batch.size ? list.slice(start, end) : [...list]);
  return {
    size: end - start,
    imageSize: batch.imageSize,
    images: batch.images.subarray(start * pixels, end * pixels),
    labels: batch.labels.subarray(start * C, end * C),
    classes: batch.classes,
    boxes: cut(batch.boxes),
    masks: batch.masks.subarray(start * pixels, end * pixels),
    tasks: {
      cls: batch.tasks.cls.subarray(start, end),
      det: batch.tasks.det.subarray(start, end),
      seg: batch.tasks.seg.subarray(start, end),
    },
    ids: cut(batch.ids),
    patientIds: cut(batch.patientIds),
    sources: cut(batch.sources),
  };
}

/**
 * A batch cut into `count` micro-batches of consecutive samples (sizes differ by at most one; none is empty). The
 * arrays are views on the batch's own, not copies.
 *
 * @example
 * microBatches(batch, 4).map((m) => m.size);   // batch of 16 -> [4, 4, 4, 4]
 */
export function microBatches(batch: Batch, count: number): Batch[] {
  const n = Math.max(1, Math.min(count, batch.size));
  if (n === 1) return [batch];
  const out: Batch[] = [];
  for (let i = 0; i < n; i++)
    out.push(rowsOf(batch, Math.floor((i * batch.size) / n), Math.floor(((i + 1) * batch.size) / n)));
  return out;
}
