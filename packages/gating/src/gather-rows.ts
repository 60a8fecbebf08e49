import { DataError, tf, type EncoderFeatures } from '@multichexnet/core';

/**
 * Rows `idx` of x [B, ...] -> [K, ...], differentiable on every backend. The forward pass is `tf.gather`; its
 * gradient is written out as a matrix product with the K x B selection matrix, because tfjs's own gradient of
 * gather needs the UnsortedSegmentSum kernel, which the wasm backend does not register.
 */
function gatherDifferentiable(x: tf.Tensor4D, indices: Int32Array): tf.Tensor4D {
  const B = x.shape[0];
  const K = indices.length;
  const op = tf.customGrad((...args: unknown[]) => {
    const xi = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([]);
    const value = tf.gather(xi, tf.tensor1d(indices, 'int32')) as tf.Tensor4D;
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const select = new Float32Array(K * B);
        indices.forEach((row, k) => {
          select[k * B + row] = 1;
        });
        const flat = tf.reshape(dy, [K, -1]);
        // dx = S^T dy: each source row sums the gradients of every output row taken from it.
        return tf.reshape(tf.matMul(tf.tensor2d(select, [K, B]), flat, true, false), x.shape);
      },
    };
  });
  return op(x) as tf.Tensor4D;
}

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
      throw new DataError('Row index outside the batch', {
        field: `indices[${i}]`,
        expected: `an integer in 0..${batch - 1}`,
        found: String(r),
      });
    }
  }
  const idx = Int32Array.from(indices);
  return tf.tidy(() => ({
    c2: gatherDifferentiable(features.c2, idx),
    c3: gatherDifferentiable(features.c3, idx),
    c4: gatherDifferentiable(features.c4, idx),
    c5: gatherDifferentiable(features.c5, idx),
  }));
}
