import type { Box, ScoredBox } from '@multichexnet/core';
import { checkBoxes } from '../boxes/check-boxes';

/** One evaluated image: its truth boxes and the predicted boxes with their confidences (pixels, top-left + size). */
export interface DetectionImage {
  truth: readonly Box[];
  predictions: readonly ScoredBox[];
}

/** Which IoU counts as a hit at threshold t: `gt` is IoU > t (the RSNA text), `gte` is IoU >= t. */
export type MatchRule = 'gt' | 'gte';

export function hits(iou: number, t: number, rule: MatchRule): boolean {
  return rule === 'gt' ? iou > t : iou >= t;
}

export function checkImages(images: readonly DetectionImage[]): void {
  images.forEach((im, i) => {
    checkBoxes(im.truth, { field: 'truth', row: i + 1 });
    checkBoxes(im.predictions, { field: 'predictions', row: i + 1 }, true);
  });
}

/** Indices of `boxes` by descending score, equal scores in input order. */
export function byScore(boxes: readonly ScoredBox[]): number[] {
  return boxes.map((_, i) => i).sort((a, b) => boxes[b]!.score - boxes[a]!.score || a - b);
}
