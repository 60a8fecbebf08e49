import { DataError, tf, type ScoredBox } from '@multichexnet/core';
import type { DetDecodeConfig } from '../config';
import { DET_LEVEL_STRIDE } from '../config';
import { DET_VALUES_PER_ANCHOR, sizeOf, type DetLayout, type ImageSize } from '../grid';
import { nonMaxSuppression } from './nms';

/** Per-call options of {@link decodeDetections}; unset fields come from the head's `decode` config. */
export interface DecodeDetectionsOptions extends Partial<DetDecodeConfig> {
  /**
   * Pixel size of the image the boxes are reported in. Default: the network input (grid x stride). Pass the
   * original size (e.g. 1024 for RSNA) to get boxes in original pixels: box coordinates are fractions of the
   * image internally, so only the final scaling changes.
   */
  imageSize?: ImageSize;
}

/**
 * Raw output as plain data with its dims (what onnxruntime returns), so the ONNX inference pipeline decodes
 * without tfjs tensors.
 */
export interface PlainTensor {
  data: ArrayLike<number>;
  dims: readonly number[];
}

/** What {@link decodeDetections} needs from the head config. */
export interface DetDecodeSettings extends DetLayout {
  decode: DetDecodeConfig;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * Raw output [B, S_h, S_w, K*5] (a tensor, or plain data with dims as onnxruntime returns it) -> one list of boxes per image, in pixels (top-left + size, RSNA style), highest
 * score first. Per anchor: score = sigmoid(objectness); cx = (col + sigmoid(tx)) / S_w,
 * cy = (row + sigmoid(ty)) / S_h, w = anchor_w * exp(tw), h = anchor_h * exp(th); boxes with score >=
 * `scoreThreshold` are clipped to the image (boxes left with no area are dropped), then NMS and `maxDetections`.
 * Reads the tensor synchronously; does not dispose it.
 *
 * @example
 * const [boxes] = decodeDetections(head.apply(features), head.config, { imageSize: 1024, scoreThreshold: 0.3 });
 * // boxes: [{ x: 212.4, y: 160.0, width: 230.1, height: 402.7, score: 0.91 }, ...]
 */
export function decodeDetections(output: tf.Tensor4D | PlainTensor, settings: DetDecodeSettings, options: DecodeDetectionsOptions = {}): ScoredBox[][] {
  const K = settings.anchors.length;
  const shape = output instanceof tf.Tensor ? output.shape : output.dims;
  const count = shape.reduce((a, b) => a * b, 1);
  const data = output instanceof tf.Tensor ? output.dataSync() : output.data;
  if (shape.length !== 4 || shape[3] !== K * DET_VALUES_PER_ANCHOR || data.length !== count) {
    throw new DataError('Det output has the wrong shape', { field: 'det output', expected: `[B, S_h, S_w, ${K * DET_VALUES_PER_ANCHOR}]`, found: `[${shape.join(', ')}] with ${data.length} values` });
  }
  const [B, rows, cols] = shape as [number, number, number, number];
  const stride = DET_LEVEL_STRIDE[settings.level];
  const { width: W, height: H } = sizeOf(options.imageSize ?? { width: cols * stride, height: rows * stride }, 'imageSize');
  const scoreThreshold = options.scoreThreshold ?? settings.decode.scoreThreshold;
  const nmsIoU = options.nmsIoU ?? settings.decode.nmsIoU;
  const maxDetections = options.maxDetections ?? settings.decode.maxDetections;
  const result: ScoredBox[][] = [];
  for (let b = 0; b < B; b++) {
    const candidates: ScoredBox[] = [];
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < cols; col++) {
        for (let k = 0; k < K; k++) {
          const o = (((b * rows + row) * cols + col) * K + k) * DET_VALUES_PER_ANCHOR;
          const score = sigmoid(data[o + 4]!);
          if (!(score >= scoreThreshold)) continue;
          const a = settings.anchors[k]!;
          const cx = ((col + sigmoid(data[o]!)) / cols) * W;
          const cy = ((row + sigmoid(data[o + 1]!)) / rows) * H;
          const w = a.width * Math.exp(data[o + 2]!) * W;
          const h = a.height * Math.exp(data[o + 3]!) * H;
          const x1 = Math.max(0, cx - w / 2);
          const y1 = Math.max(0, cy - h / 2);
          const x2 = Math.min(W, cx + w / 2);
          const y2 = Math.min(H, cy + h / 2);
          if (!(x2 > x1 && y2 > y1)) continue;
          candidates.push({ x: x1, y: y1, width: x2 - x1, height: y2 - y1, score });
        }
      }
    }
    result.push(nonMaxSuppression(candidates, nmsIoU, maxDetections));
  }
  return result;
}
