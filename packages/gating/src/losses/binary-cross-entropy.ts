import { assertShape, tf } from '@multichexnet/core';

/**
 * Scalar: mean binary cross-entropy of gate logits [B, 1] (pre-sigmoid) against targets [B] of 0/1, over the
 * samples whose target is known. NaN targets ("this sample has no gate label") and samples with `mask` 0 add
 * nothing; with no known target the loss is 0 with zero gradients, never NaN.
 *
 * Computed on the logit as softplus(z) - y z, so it stays finite for any finite z.
 *
 * @example
 * gateBinaryCrossEntropy(tf.tensor1d([1, 0, NaN]), tf.tensor2d([[2], [-1], [0]]));   // mean over the first two
 */
export function gateBinaryCrossEntropy(target: tf.Tensor1D, logits: tf.Tensor2D, mask?: tf.Tensor1D): tf.Scalar {
  assertShape('gate logits', logits.shape, [null, 1]);
  assertShape('gate target', target.shape, [logits.shape[0]]);
  if (mask !== undefined) assertShape('gate loss mask', mask.shape, [logits.shape[0]]);
  return tf.tidy(() => {
    const known = tf.logicalNot(tf.isNaN(target));
    let valid = tf.cast(known, 'float32');
    if (mask !== undefined) valid = tf.mul(valid, tf.cast(mask, 'float32'));
    // 0 * NaN is NaN: replace unknown targets before they enter any product.
    const y = tf.where(known, target, tf.zerosLike(target));
    const z = tf.reshape(logits, [-1]);
    const softplus = tf.add(tf.relu(z), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    const perSample = tf.sub(softplus, tf.mul(y, z));
    return tf.div(tf.sum(tf.mul(perSample, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}
