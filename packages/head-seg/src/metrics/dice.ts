import { DataError, type BinaryMask } from '@multichexnet/core';
import { checkMask } from '../masks/check-mask';

/** One evaluated image: the predicted and the truth mask (same size; any non-zero value is foreground). */
export interface SegmentationImage {
  prediction: BinaryMask;
  truth: BinaryMask;
}

function diceOf(pred: BinaryMask, truth: BinaryMask, row?: number): number {
  checkMask(pred, 'prediction', row);
  checkMask(truth, 'truth', row);
  if (pred.width !== truth.width || pred.height !== truth.height) {
    throw new DataError('Prediction and truth masks differ in size', {
      row,
      field: 'prediction',
      expected: `${truth.width} x ${truth.height}`,
      found: `${pred.width} x ${pred.height}`,
    });
  }
  let p = 0;
  let t = 0;
  let both = 0;
  for (let i = 0; i < pred.data.length; i++) {
    const a = pred.data[i] !== 0;
    const b = truth.data[i] !== 0;
    if (a) p++;
    if (b) t++;
    if (a && b) both++;
  }
  if (p === 0 && t === 0) return 1;
  return (2 * both) / (p + t);
}

/**
 * Dice of one image with the SIIM-ACR rule: 2|X ∩ Y| / (|X| + |Y|), defined as 1 when both masks are empty (so
 * exactly one empty mask gives 0).
 *
 * @example
 * diceScore({ width: 2, height: 2, data: Uint8Array.of(1, 1, 0, 0) }, { width: 2, height: 2, data: Uint8Array.of(1, 1, 1, 0) }); // 0.8
 */
export function diceScore(prediction: BinaryMask, truth: BinaryMask): number {
  return diceOf(prediction, truth);
}

/**
 * The SIIM-ACR Pneumothorax leaderboard metric: the mean of {@link diceScore} over all images, empty ones included
 * (an empty truth with an empty prediction scores 1, with any predicted pixel 0). NaN for no images.
 *
 * @example
 * siimMeanDice([{ prediction: emptyMask, truth: emptyMask }, { prediction: pred, truth }]);
 */
export function siimMeanDice(images: readonly SegmentationImage[]): number {
  if (images.length === 0) return Number.NaN;
  let sum = 0;
  images.forEach((im, i) => {
    sum += diceOf(im.prediction, im.truth, i + 1);
  });
  return sum / images.length;
}

/**
 * Mean Dice over the positive images only, as the MultiCheXNet authors' evaluation reports it: the mean of
 * {@link diceScore} over the images whose truth mask has a foreground pixel; images with an empty truth are left
 * out, so an empty prediction there earns nothing and a false alarm costs nothing (the leaderboard's
 * {@link siimMeanDice} counts both). The authors' SIIM loader keeps only images with a mask and adds a smoothing 1
 * to numerator and denominator; this one is the exact binary Dice. NaN when no truth mask is non-empty.
 *
 * @example
 * positiveMeanDice([{ prediction: pred, truth }, { prediction: emptyMask, truth: emptyMask }]);   // diceScore(pred, truth)
 */
export function positiveMeanDice(images: readonly SegmentationImage[]): number {
  let sum = 0;
  let n = 0;
  images.forEach((im, i) => {
    const d = diceOf(im.prediction, im.truth, i + 1);
    if (!im.truth.data.some((v) => v !== 0)) return;
    sum += d;
    n++;
  });
  return n === 0 ? Number.NaN : sum / n;
}
