import type { ImageSpace } from '@multichexnet/core/base';
import { unfitBoxes, type FitTransform } from '@multichexnet/data/decode';
import { resizeBilinear } from './resize-bilinear';

/**
 * The image space of one film: results go from the network-input grid back onto the original image through data's
 * preprocessing fit (`preprocessImage(...).transform`). Boxes with data's `unfitBoxes`; a probability map: the part
 * covering the image (without letterbox padding) resized bilinearly to the original size, foreground where the
 * probability is > threshold.
 *
 * @example
 * const { input, transform } = preprocessImage(image, metadata.preprocessing!);
 * const space = fitImageSpace(transform, { width: 256, height: 256 });
 * detDecoder.decode(outputs, { index: 0, settings, image: space }).boxes;   // in film pixels
 */
export function fitImageSpace(transform: FitTransform, inputSize: { width: number; height: number }): ImageSpace {
  const { width, height } = transform;
  return {
    inputSize: { ...inputSize },
    size: { width, height },
    boxes: (boxes) => unfitBoxes(boxes, transform),
    mask(probs, threshold) {
      const stride = inputSize.width;
      const window = {
        x0: transform.offsetX,
        y0: transform.offsetY,
        w: Math.max(1, Math.round(width * transform.scaleX)),
        h: Math.max(1, Math.round(height * transform.scaleY)),
      };
      const data = new Uint8Array(width * height);
      // bilinear samples are convex combinations of the window's probabilities: none above the threshold there, none
      // anywhere on the film (the usual film without a pneumothorax skips resizing millions of pixels)
      let top = -Infinity;
      for (let y = window.y0; y < window.y0 + window.h; y++)
        for (let x = window.x0; x < window.x0 + window.w; x++) top = Math.max(top, probs[y * stride + x]!);
      if (top + 1e-9 <= threshold) return { width, height, data };
      const p = resizeBilinear(probs, stride, window, width, height);
      for (let i = 0; i < data.length; i++) data[i] = p[i]! > threshold ? 1 : 0;
      return { width, height, data };
    },
  };
}
