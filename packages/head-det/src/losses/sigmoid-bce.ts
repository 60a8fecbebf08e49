import { tf } from '@multichexnet/core';

/**
 * Elementwise binary cross-entropy of logits `x` against targets `z` in [0, 1], same shape as `x`:
 * max(x, 0) - x z + log(1 + exp(-|x|)). Written out (rather than tf.losses.sigmoidCrossEntropy) because the loss
 * needs the unreduced per-anchor values to weight positives, negatives and ignored anchors differently; this form
 * never overflows and never evaluates a full sigmoid.
 */
export function sigmoidBCEWithLogits(x: tf.Tensor, z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
}
