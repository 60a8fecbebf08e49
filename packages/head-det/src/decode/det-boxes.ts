import { DataError, type PlainTensor } from '@multichexnet/core/base';
import { DET_LEVEL_STRIDE, DET_VALUES_PER_ANCHOR, type DetLayout } from '../grid';

/** Name of the raw CheXDet output [B, S_h, S_w, K*5], NHWC. */
export const DET_RAW_OUTPUT = 'det_raw';
/** Name of the decoded boxes [B, N, 4]: (x, y, width, height) in network-input pixels, clipped. */
export const DET_BOXES_OUTPUT = 'det_boxes';
/** Name of the box scores [B, N]: sigmoid(objectness). */
export const DET_SCORES_OUTPUT = 'det_scores';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * Raw detections [B, S_h, S_w, K*5] -> one box and score per grid cell and anchor, YOLOv2 style, exactly what the
 * exported graph computes (`det_boxes` [B, N, 4], `det_scores` [B, N], N = S_h x S_w x K in (row, col, anchor) order):
 * score = sigmoid(objectness); cx = (col + sigmoid(tx)) / S_w x W, cy likewise; w = anchor.width x exp(tw) x W, h
 * likewise; each box clipped to the W x H image (top-left + size). `size` is the pixel size boxes are given in
 * (default: the network input, grid x stride).
 *
 * @example
 * const { boxes, scores } = detBoxesOf({ data: raw, dims: [1, 8, 8, 25] }, head.config);   // 320 boxes of a 256 px input
 */
export function detBoxesOf(
  raw: PlainTensor,
  layout: DetLayout,
  size?: { width: number; height: number },
): { boxes: PlainTensor; scores: PlainTensor } {
  const K = layout.anchors.length;
  const shape = raw.dims;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.length !== 4 || shape[3] !== K * DET_VALUES_PER_ANCHOR || raw.data.length !== count) {
    throw new DataError('Det output has the wrong shape', {
      field: 'det output',
      expected: `[B, S_h, S_w, ${K * DET_VALUES_PER_ANCHOR}]`,
      found: `[${shape.join(', ')}] with ${raw.data.length} values`,
    });
  }
  const [B, rows, cols] = shape as [number, number, number, number];
  const stride = DET_LEVEL_STRIDE[layout.level];
  const { width: W, height: H } = size ?? { width: cols * stride, height: rows * stride };
  const N = rows * cols * K;
  const boxes = new Float64Array(B * N * 4);
  const scores = new Float64Array(B * N);
  const data = raw.data;
  for (let b = 0; b < B; b++) {
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < cols; col++) {
        for (let k = 0; k < K; k++) {
          const n = (row * cols + col) * K + k;
          const o = (b * N + n) * DET_VALUES_PER_ANCHOR;
          const a = layout.anchors[k]!;
          const cx = ((col + sigmoid(data[o]!)) / cols) * W;
          const cy = ((row + sigmoid(data[o + 1]!)) / rows) * H;
          const w = a.width * Math.exp(data[o + 2]!) * W;
          const h = a.height * Math.exp(data[o + 3]!) * H;
          const x1 = Math.max(0, cx - w / 2);
          const y1 = Math.max(0, cy - h / 2);
          const at = (b * N + n) * 4;
          boxes[at] = x1;
          boxes[at + 1] = y1;
          boxes[at + 2] = Math.min(W, cx + w / 2) - x1;
          boxes[at + 3] = Math.min(H, cy + h / 2) - y1;
          scores[b * N + n] = sigmoid(data[o + 4]!);
        }
      }
    }
  }
  return { boxes: { data: boxes, dims: [B, N, 4] }, scores: { data: scores, dims: [B, N] } };
}
