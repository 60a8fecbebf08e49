import { assertShape, tf } from '@multichexnet/core';
import type { SegLossConfig } from '../config';

/** What {@link segLoss} needs from the head config. */
export interface SegLossSettings {
  loss: SegLossConfig;
}

/**
 * CheXSeg loss, a scalar: the mean over counted images of
 *
 *   bceWeight * (mean over the image's pixels of the BCE of the logit against the truth)
 *   + diceWeight * (1 - soft Dice), soft Dice = (2 sum(p t) + s) / (sum p + sum t + s), p = sigmoid(logit),
 *
 * Dice computed per image, s = `diceSmooth`. An empty truth is a valid negative: its Dice is s / (sum p + s),
 * which is 1 when nothing is predicted and falls as predicted area grows, so the Dice term pushes every
 * probability of a negative image down (and BCE does too).
 * `target` [B, H, W, 1] holds 0/1 (or soft labels in [0, 1]); NaN pixels are ignored by both terms. An image
 * counts when `mask` (if given) is 1 and it has at least one non-NaN pixel; a batch with no counted image gives 0
 * with zero gradients. `logits` [B, H, W, 1] are the raw head output (the sigmoid is never applied for BCE).
 *
 * @example
 * const loss = segLoss(truthMasks, head.apply(features, { training: true }), head.config);
 */
export function segLoss(
  target: tf.Tensor4D,
  logits: tf.Tensor4D,
  settings: SegLossSettings,
  mask?: tf.Tensor1D,
): tf.Scalar {
  assertShape('seg logits', logits.shape, [null, null, null, 1]);
  assertShape('seg target', target.shape, logits.shape);
  if (mask !== undefined) assertShape('seg loss mask', mask.shape, [logits.shape[0]]);
  const { bceWeight, diceWeight, diceSmooth } = settings.loss;
  return tf.tidy(() => {
    const nan = tf.isNaN(target);
    const valid = tf.cast(tf.logicalNot(nan), 'float32');
    const t = tf.where(nan, tf.zerosLike(target), target);
    const axes = [1, 2, 3];
    const nValid = tf.sum(valid, axes); // [B]
    // BCE on logits, written out: max(x, 0) - x t + log(1 + exp(-|x|)) never overflows.
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, t)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const bceImage = tf.div(tf.sum(tf.mul(bce, valid), axes), tf.maximum(nValid, 1));
    const p = tf.mul(tf.sigmoid(logits), valid);
    const inter = tf.sum(tf.mul(p, t), axes);
    const dice = tf.div(
      tf.add(tf.mul(inter, 2), diceSmooth),
      tf.add(tf.add(tf.sum(p, axes), tf.sum(t, axes)), diceSmooth),
    );
    const perImage = tf.add(tf.mul(bceImage, bceWeight), tf.mul(tf.sub(1, dice), diceWeight));
    let counted: tf.Tensor = tf.cast(tf.greater(nValid, 0), 'float32');
    if (mask !== undefined) counted = tf.mul(counted, mask);
    const kept = tf.where(tf.greater(counted, 0), perImage, tf.zerosLike(perImage));
    return tf.div(tf.sum(kept), tf.maximum(tf.sum(counted), 1)) as tf.Scalar;
  });
}
