import { DataError } from '@multichexnet/core/base';
import type { Anchor } from './anchors/anchor';

/** Grid stride of each level the head can sit on. */
export const DET_LEVEL_STRIDE = { c5: 32, c4: 16 } as const;

/**
 * Values per anchor in the raw output, in channel order: `k * 5 + j` holds field j of anchor k, with
 * j = 0 tx, 1 ty, 2 tw, 3 th, 4 objectness logit.
 */
export const DET_OUTPUT_FIELDS = ['tx', 'ty', 'tw', 'th', 'objectness'] as const;
/** Number of {@link DET_OUTPUT_FIELDS}. */
export const DET_VALUES_PER_ANCHOR = DET_OUTPUT_FIELDS.length;

/** The part of the head config that fixes the output layout. */
export interface DetLayout {
  level: 'c5' | 'c4';
  anchors: readonly Anchor[];
}

/** Pixel size of an image: a number for a square image. */
export type ImageSize = number | { width: number; height: number };

/** `{width, height}` of an {@link ImageSize}, checked positive and finite. */
export function sizeOf(imageSize: ImageSize, field = 'imageSize'): { width: number; height: number } {
  const s = typeof imageSize === 'number' ? { width: imageSize, height: imageSize } : imageSize;
  if (!(
    s !== null &&
    typeof s === 'object' &&
    s.width > 0 &&
    s.height > 0 &&
    Number.isFinite(s.width) &&
    Number.isFinite(s.height)
  )) {
    throw new DataError('Image size must be positive', {
      field,
      expected: 'a number > 0 or { width > 0, height > 0 }',
      found: JSON.stringify(imageSize),
    });
  }
  return s;
}

/** Grid of the head for a network input of `imageSize` pixels: [rows, cols] = size / stride, which must divide. */
export function gridOf(layout: DetLayout, imageSize: ImageSize): { rows: number; cols: number; stride: number } {
  const { width, height } = sizeOf(imageSize);
  const stride = DET_LEVEL_STRIDE[layout.level];
  if (width % stride !== 0 || height % stride !== 0) {
    throw new DataError(`Image size must be a multiple of the ${layout.level} stride ${stride}`, {
      field: 'imageSize',
      expected: `width and height multiples of ${stride}`,
      found: `${width} x ${height}`,
    });
  }
  return { rows: height / stride, cols: width / stride, stride };
}
