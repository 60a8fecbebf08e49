import { assertShape, tf } from '@multichexnet/core';

/** Options of {@link maskedBinaryCrossEntropy}. */
export interface MaskedBceOptions {
  /** [C] weight of the positive term per class (CheXNet's w+); default 1. */
  posWeights?: readonly number[];
  /** [C] weight of the negative term per class (CheXNet's w-); default 1. */
  negWeights?: readonly number[];
  /** [B] 0/1: samples with 0 add no loss (their task label is missing). */
  mask?: tf.Tensor1D;
}

/**
 * Scalar: mean binary cross-entropy of logits [B, C] (pre-sigmoid) against labels [B, C] in [0, 1], over the
 * entries that are annotated. A label that is NaN (or negative, the paper's -1) is "not annotated in this
 * dataset" and adds nothing; `mask` switches whole samples off. With nothing annotated the loss is 0 and every
 * gradient is 0, not NaN.
 *
 * Per entry: w+ * y * softplus(-z) + w- * (1 - y) * softplus(z), which is -w+ y log(sigmoid z) - w- (1-y)
 * log(1 - sigmoid z) computed on the logit so it stays finite for any finite z.
 *
 * @example
 * const loss = maskedBinaryCrossEntropy(tf.tensor2d([[1, NaN]]), tf.tensor2d([[2.0, -1.0]]));  // only entry 0 counts
 */
export function maskedBinaryCrossEntropy(
  labels: tf.Tensor2D,
  logits: tf.Tensor2D,
  options: MaskedBceOptions = {},
): tf.Scalar {
  assertShape('labels', labels.shape, logits.shape);
  const [batch, classes] = logits.shape;
  if (options.mask !== undefined) assertShape('mask', options.mask.shape, [batch]);
  for (const key of ['posWeights', 'negWeights'] as const) {
    const w = options[key];
    if (w !== undefined) assertShape(key, [w.length], [classes]);
  }
  return tf.tidy(() => {
    // NaN >= 0 is false, so one comparison finds both NaN and -1 labels.
    const annotated = tf.greaterEqual(labels, 0);
    let valid = tf.cast(annotated, 'float32');
    if (options.mask !== undefined) valid = tf.mul(valid, tf.reshape(tf.cast(options.mask, 'float32'), [batch, 1]));
    // Replace missing labels by 0 so they cannot put NaN into the sum (0 * NaN is NaN).
    const y = tf.where(annotated, labels, tf.zerosLike(labels));
    const z = logits;
    // softplus(z) = max(z, 0) + log1p(exp(-|z|)): exact, and exp never overflows.
    const softplusZ = tf.add(tf.relu(z), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    const softplusNegZ = tf.sub(softplusZ, z);
    let pos = tf.mul(y, softplusNegZ);
    let neg = tf.mul(tf.sub(1, y), softplusZ);
    if (options.posWeights !== undefined) pos = tf.mul(pos, tf.tensor1d(options.posWeights as number[]));
    if (options.negWeights !== undefined) neg = tf.mul(neg, tf.tensor1d(options.negWeights as number[]));
    const total = tf.sum(tf.mul(tf.add(pos, neg), valid));
    const count = tf.maximum(tf.sum(valid), 1);
    return tf.div(total, count) as tf.Scalar;
  });
}
