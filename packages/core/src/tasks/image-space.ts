import { DataError } from '../errors';
import type { BinaryMask, Box } from '../types';

/**
 * Where a decoder's results go: from the network-input grid (`inputSize`) to the pixels results are reported in
 * (`size`). The inference runtime maps back onto the original image through the preprocessing's fit; training and
 * evaluation report in network-input pixels ({@link inputImageSpace}).
 */
export interface ImageSpace {
  /** The network input the outputs were computed on. */
  readonly inputSize: { readonly width: number; readonly height: number };
  /** The size results are reported in. */
  readonly size: { readonly width: number; readonly height: number };
  /** Boxes in network-input pixels -> result pixels (other fields kept). */
  boxes<B extends Box>(boxes: readonly B[]): B[];
  /**
   * Probabilities [inputSize.height * inputSize.width], row-major, on the input grid -> a mask in result pixels,
   * foreground where the probability is > `threshold`.
   */
  mask(probabilities: ArrayLike<number>, threshold: number): BinaryMask;
}

/**
 * The image space of results reported on the network-input grid itself: boxes unchanged, a mask thresholded pixel
 * by pixel.
 *
 * @example
 * const space = inputImageSpace({ width: 256, height: 256 });
 * space.mask(probs, 0.5);   // { width: 256, height: 256, data }
 */
export function inputImageSpace(inputSize: { width: number; height: number }): ImageSpace {
  const { width, height } = inputSize;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new DataError('Image space needs a positive integer size', {
      field: 'inputSize',
      expected: 'integers > 0',
      found: `${width} x ${height}`,
    });
  }
  const size = { width, height };
  return {
    inputSize: size,
    size,
    boxes: (boxes) => boxes.map((b) => ({ ...b })),
    mask: (probabilities, threshold) => {
      if (probabilities.length !== width * height) {
        throw new DataError('Probability map does not match the input grid', {
          field: 'probabilities',
          expected: `${width} x ${height} = ${width * height} values`,
          found: `${probabilities.length}`,
        });
      }
      const data = new Uint8Array(width * height);
      for (let i = 0; i < data.length; i++) data[i] = probabilities[i]! > threshold ? 1 : 0;
      return { width, height, data };
    },
  };
}
