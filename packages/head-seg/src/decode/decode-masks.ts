import { DataError, tf, type BinaryMask } from '@multichexnet/core';

/** Logits as plain data with its dims (what onnxruntime returns), so the ONNX pipeline decodes without tfjs. */
export interface PlainTensor {
  data: ArrayLike<number>;
  dims: readonly number[];
}

/**
 * Mask logits [B, H, W, 1] (a tensor, or plain data with dims) -> one BinaryMask per image: foreground where sigmoid(logit) > `threshold`, compared
 * as logit > log(threshold / (1 - threshold)) so no full-resolution sigmoid runs. Reads the tensor synchronously;
 * does not dispose it.
 *
 * @example
 * const [mask] = decodeMasks(head.apply(features), 0.5);   // { width: 256, height: 256, data: Uint8Array }
 */
export function decodeMasks(logits: tf.Tensor4D | PlainTensor, threshold = 0.5): BinaryMask[] {
  const shape = logits instanceof tf.Tensor ? logits.shape : logits.dims;
  const v = logits instanceof tf.Tensor ? logits.dataSync() : logits.data;
  if (shape.length !== 4 || shape[3] !== 1 || v.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new DataError('Seg logits have the wrong shape', { field: 'seg logits', expected: '[B, H, W, 1]', found: `[${shape.join(', ')}] with ${v.length} values` });
  }
  if (!(threshold > 0 && threshold < 1)) {
    throw new DataError('Mask threshold must be inside (0, 1)', { field: 'threshold', expected: '0 < threshold < 1', found: String(threshold) });
  }
  const [B, H, W] = shape as [number, number, number, number];
  const cut = Math.log(threshold / (1 - threshold));
  const n = H * W;
  const out: BinaryMask[] = [];
  for (let b = 0; b < B; b++) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = v[b * n + i]! > cut ? 1 : 0;
    out.push({ width: W, height: H, data });
  }
  return out;
}
