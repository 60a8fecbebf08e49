import { DataError, tf, type EncoderFeatures } from '@multichexnet/core';

/**
 * The rows `indices` of every feature level: {c2..c5} [B, ...] -> {c2..c5} [K, ...], NHWC, in the order of
 * `indices`. Differentiable (the gradient scatters back to the chosen rows), so heads can train on the gate's
 * positives only while the encoder still learns from them. Leak-free: only the four gathered tensors are new.
 *
 * @example
 * const positives = gatherRows(features, [0, 3]);   // det/seg run on images 0 and 3 only
 */
export function gatherRows(features: EncoderFeatures, indices: readonly number[] | Int32Array): EncoderFeatures {
  const batch = features.c5.shape[0];
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= batch) {
      throw new DataError('Row index outside the batch', { field: `indices[${i}]`, expected: `an integer in 0..${batch - 1}`, found: String(r) });
    }
  }
  return tf.tidy(() => {
    const idx = tf.tensor1d(Int32Array.from(indices), 'int32');
    return {
      c2: tf.gather(features.c2, idx) as tf.Tensor4D,
      c3: tf.gather(features.c3, idx) as tf.Tensor4D,
      c4: tf.gather(features.c4, idx) as tf.Tensor4D,
      c5: tf.gather(features.c5, idx) as tf.Tensor4D,
    };
  });
}
