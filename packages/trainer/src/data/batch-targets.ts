import type { Batch } from '@multichexnet/data';
import { gateTargets } from '@multichexnet/gating';
import { maskToBoxes } from '@multichexnet/head-seg';
import type { MultiCheXNet } from '@multichexnet/model';
import type { BatchRecipe } from '../plan/plan-schema';

/** The plain targets of one batch for the tasks of its recipe. */
export interface BatchTargets {
  size: number;
  imageSize: number;
  /** Per task of the recipe (that the model has), one target per sample, null where the sample carries no label. */
  tasks: Record<string, unknown[]>;
  /** Gate labels [B] (1 / 0 / NaN) over the gate classes. */
  gateLabels: Float32Array;
}

/**
 * The batch with boxes derived from the seg masks of samples that have a mask but no box label (SIIM: the boxes of
 * the mask's connected components, components under `minAreaFraction` of the image left out): the recipe option
 * `detFromMasks`, the joint mode's way to train detection on segmentation data.
 */
export function withBoxesFromMasks(batch: Batch, minAreaFraction: number): Batch {
  const S = batch.imageSize;
  const minArea = Math.max(1, Math.round(minAreaFraction * S * S));
  const det = batch.tasks.det.slice();
  const boxes = batch.boxes.map((b, i) => {
    if (det[i] === 1 || batch.tasks.seg[i] !== 1) return b;
    det[i] = 1;
    return maskToBoxes(
      { width: S, height: S, data: batch.masks.subarray(i * S * S, (i + 1) * S * S) },
      { minArea },
    ).map((box) => ({ ...box, label: 'Pneumothorax' as const }));
  });
  return { ...batch, boxes, tasks: { ...batch.tasks, det } };
}

/**
 * Targets of a batch for the tasks of `recipe` that the model has, each built by its task spec from the batch's
 * labels (cls rows over the head's classes, det boxes, seg masks, a user task's own), and the gate labels.
 *
 * @example
 * const t = batchTargets(batch, recipe, model, ['Pneumonia', 'Pneumothorax']);   // t.tasks.det[i]: Box[] | null
 */
export function batchTargets(
  batch: Batch,
  recipe: BatchRecipe,
  model: MultiCheXNet,
  gateClasses: readonly string[],
): BatchTargets {
  const source = recipe.detFromMasks ? withBoxesFromMasks(batch, recipe.maskBoxMinArea) : batch;
  const tasks: Record<string, unknown[]> = {};
  for (const spec of model.taskSpecs)
    if (recipe.tasks.includes(spec.name)) tasks[spec.name] = spec.targets.fromBatch(source, model.heads[spec.name]);
  const C = batch.classes.length;
  const rows = Array.from({ length: batch.size }, (_, b) => batch.labels.subarray(b * C, (b + 1) * C));
  return {
    size: batch.size,
    imageSize: batch.imageSize,
    tasks,
    gateLabels: gateTargets(rows, batch.classes, gateClasses),
  };
}
