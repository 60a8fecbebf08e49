import { positiveMeanDice, siimMeanDice, type SegmentationImage } from './dice';

/** Segmentation metrics of a set of images (SIIM). */
export interface SegMetrics {
  /** SIIM-ACR mean Dice over all images (empty truth and empty prediction score 1). */
  dice: number;
  /** Mean Dice over the images with a non-empty truth mask, as the authors' code reports it (`positiveMeanDice`). */
  positiveDice: number;
  /** Predicted masks below this many pixels counted as empty. */
  minArea: number;
  images: number;
  /** Images with a non-empty truth mask. */
  positives: number;
}

/** Candidate minimum mask areas {@link chooseMinArea} tries, as fractions of the image. */
export const SEG_MIN_AREA_FRACTIONS: readonly number[] = Object.freeze([0, 0.0025, 0.005, 0.01, 0.02, 0.04]);

/**
 * SIIM mean Dice with predicted masks of fewer than `minArea` pixels emptied.
 *
 * @example
 * segDiceAt(images, 40);
 */
export function segDiceAt(images: readonly SegmentationImage[], minArea: number): number {
  return siimMeanDice(segMasksAt(images, minArea));
}

/** The images with predicted masks of fewer than `minArea` pixels emptied. */
function segMasksAt(images: readonly SegmentationImage[], minArea: number): readonly SegmentationImage[] {
  if (minArea <= 0) return images;
  return images.map((s) => {
    let n = 0;
    for (let i = 0; i < s.prediction.data.length; i++) if (s.prediction.data[i] !== 0) n++;
    return n >= minArea
      ? s
      : {
          truth: s.truth,
          prediction: {
            width: s.prediction.width,
            height: s.prediction.height,
            data: new Uint8Array(s.prediction.data.length),
          },
        };
  });
}

/**
 * The SIIM mean Dice at `minArea` (all images, and positive images only) and the image counts.
 *
 * @example
 * segMetrics(images, 0).dice;
 */
export function segMetrics(images: readonly SegmentationImage[], minArea: number): SegMetrics {
  const masks = segMasksAt(images, minArea);
  return {
    dice: siimMeanDice(masks),
    positiveDice: positiveMeanDice(masks),
    minArea,
    images: images.length,
    positives: images.filter((s) => s.truth.data.some((v) => v !== 0)).length,
  };
}

/**
 * The candidate minimum mask area (pixels) with the best SIIM Dice on (validation) images, first on ties; undefined
 * for no images. SIIM entrants tuned exactly this on held-out data.
 *
 * @example
 * chooseMinArea(valImages);   // 164
 */
export function chooseMinArea(images: readonly SegmentationImage[]): number | undefined {
  if (images.length === 0) return undefined;
  const pixels = images[0]!.truth.width * images[0]!.truth.height;
  let best = -Infinity;
  let chosen: number | undefined;
  for (const f of SEG_MIN_AREA_FRACTIONS) {
    const area = Math.round(f * pixels);
    const d = segDiceAt(images, area);
    if (d > best) {
      best = d;
      chosen = area;
    }
  }
  return chosen;
}
