import type { BinaryMask, Box } from '@multichexnet/core';
import { PATHOLOGIES, type Batch } from '@multichexnet/data';
import { gateTargets } from '@multichexnet/gating';
import { maskToBoxes } from '@multichexnet/head-seg';
import type { BatchRecipe } from '../plan/plan-schema';

/** The plain targets of one batch for the tasks of its recipe. */
export interface BatchTargets {
  size: number;
  imageSize: number;
  /** Cls labels [B, C] over the cls head's classes, NaN = not annotated. */
  clsLabels: Float32Array;
  /** Some sample carries a cls label. */
  hasCls: boolean;
  /** Gate labels [B] (1 / 0 / NaN) over the gate classes. */
  gateLabels: Float32Array;
  /** Det boxes per sample in network pixels; null = no det label (no loss). */
  detBoxes: (Box[] | null)[];
  /** Seg mask per sample; null = no seg label. */
  segMasks: (BinaryMask | null)[];
}

/**
 * Targets of a batch: cls labels picked from the harmonised label vector, det boxes (RSNA boxes, or for SIIM
 * samples with `detFromMasks` the boxes of the mask's connected components), seg masks, gate labels.
 *
 * @example
 * const t = batchTargets(batch, recipe, cls.config.classes, ['Pneumonia', 'Pneumothorax']);
 */
export function batchTargets(batch: Batch, recipe: BatchRecipe, clsClasses: readonly string[], gateClasses: readonly string[]): BatchTargets {
  const B = batch.size;
  const S = batch.imageSize;
  const C = batch.classes.length;
  const cols = clsClasses.map((c) => batch.classes.indexOf(c as (typeof PATHOLOGIES)[number]));
  const clsLabels = new Float32Array(B * clsClasses.length).fill(Number.NaN);
  const rows: Float32Array[] = [];
  let hasCls = false;
  for (let b = 0; b < B; b++) {
    const row = batch.labels.subarray(b * C, (b + 1) * C);
    rows.push(row);
    cols.forEach((c, j) => {
      if (c >= 0) {
        const v = row[c]!;
        clsLabels[b * clsClasses.length + j] = v;
        if (!Number.isNaN(v)) hasCls = true;
      }
    });
  }
  const wantsDet = recipe.tasks.includes('det');
  const wantsSeg = recipe.tasks.includes('seg');
  const detBoxes: (Box[] | null)[] = [];
  const segMasks: (BinaryMask | null)[] = [];
  for (let b = 0; b < B; b++) {
    const mask: BinaryMask | null = batch.tasks.seg[b] === 1 ? { width: S, height: S, data: batch.masks.slice(b * S * S, (b + 1) * S * S) } : null;
    segMasks.push(wantsSeg ? mask : null);
    if (!wantsDet) detBoxes.push(null);
    else if (batch.tasks.det[b] === 1) detBoxes.push(batch.boxes[b]!.map(({ x, y, width, height }) => ({ x, y, width, height })));
    else if (recipe.detFromMasks && mask !== null) detBoxes.push(maskToBoxes(mask, { minArea: Math.max(1, Math.round(recipe.maskBoxMinArea * S * S)) }));
    else detBoxes.push(null);
  }
  return { size: B, imageSize: S, clsLabels, hasCls, gateLabels: gateTargets(rows, batch.classes, gateClasses), detBoxes, segMasks };
}

/** Whether a det / seg target holds a finding (boxes, or a non-empty mask). */
export function isPositiveTarget(t: Box[] | BinaryMask | null): boolean {
  if (t === null) return false;
  if (Array.isArray(t)) return t.length > 0;
  return t.data.some((v) => v !== 0);
}
