import { DataError, tf, type BinaryMask } from '@multichexnet/core';

/**
 * Mask logits [B, H, W, 1] -> one BinaryMask per image: foreground where sigmoid(logit) > `threshold`, compared
 * as logit > log(threshold / (1 - threshold)) so no full-resolution sigmoid runs. Reads the tensor synchronously;
 * does not dispose it.
 *
 * @example
 * const [mask] = decodeMasks(head.apply(features), 0.5);   // { width: 256, height: 256, data: Uint8Array }
 */
export function decodeMasks(logits: tf.Tensor4D, threshold = 0.5): BinaryMask[] {
  if (logits.rank !== 4 || logits.shape[3] !== 1) {
    throw new DataError('Seg logits have the wrong shape', { field: 'seg logits', expected: '[B, H, W, 1]', found: `[${logits.shape.join(', ')}]` });
  }
  if (!(threshold > 0 && threshold < 1)) {
    throw new DataError('Mask threshold must be inside (0, 1)', { field: 'threshold', expected: '0 < threshold < 1', found: String(threshold) });
  }
  const [B, H, W] = logits.shape;
  const cut = Math.log(threshold / (1 - threshold));
  const v = logits.dataSync();
  const n = H * W;
  const out: BinaryMask[] = [];
  for (let b = 0; b < B; b++) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = v[b * n + i]! > cut ? 1 : 0;
    out.push({ width: W, height: H, data });
  }
  return out;
}
