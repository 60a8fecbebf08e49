import { DataError, type GrayImage } from '@multichexnet/core';
import type { PreprocessingSpec } from '../model/metadata';

/**
 * Samples `src` (h x w, row-major) at the centres of a dstH x dstW grid with bilinear interpolation, half-pixel
 * centres (the convention of image libraries and of tf.image.resizeBilinear with halfPixelCenters), clamped at
 * the border. Hand-written: 20 lines, runs in browsers and Node alike without a canvas.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  w: number,
  h: number,
  dstW: number,
  dstH: number,
  out: Float32Array = new Float32Array(dstW * dstH),
): Float32Array {
  const sx = w / dstW;
  const sy = h / dstH;
  for (let y = 0; y < dstH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    for (let x = 0; x < dstW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      const top = src[y0 * w + x0]! * (1 - wx) + src[y0 * w + x1]! * wx;
      const bottom = src[y1 * w + x0]! * (1 - wx) + src[y1 * w + x1]! * wx;
      out[y * dstW + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/**
 * A decoded gray image -> the network input of one sample, [H, W, C] NHWC float32 (written into `out` at
 * `offset` when given): resize to the model's input size, scale by 1 / maxValue, normalise (x - mean) / std,
 * replicate over the channels.
 *
 * @example
 * const x = preprocessImage(image, model.metadata.preprocessing!);   // Float32Array of 256 * 256 * 1
 */
export function preprocessImage(image: GrayImage, spec: PreprocessingSpec, out?: Float32Array, offset = 0): Float32Array {
  const { width, height, data } = image;
  if (!(width > 0 && height > 0) || data.length !== width * height) {
    throw new DataError('Image data does not match its size', {
      field: 'image',
      expected: `${width} x ${height} = ${width * height} values`,
      found: `${data.length} values`,
    });
  }
  const { width: W, height: H, channels, maxValue, mean, std } = spec;
  const resized = resizeBilinear(data, width, height, W, H);
  const target = out ?? new Float32Array(W * H * channels);
  const scale = 1 / (maxValue * std);
  const shift = mean / std;
  for (let i = 0; i < W * H; i++) {
    const v = resized[i]! * scale - shift;
    for (let c = 0; c < channels; c++) target[offset + i * channels + c] = v;
  }
  return target;
}
