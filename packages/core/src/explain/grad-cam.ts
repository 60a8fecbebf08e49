import { tf } from '../tf';
import { DataError } from '../errors';
import type { Block, EncoderFeatures, FeatureLevel } from '../blocks/block';

/** The part of a model after the explained activation: activation [B, h, w, K] -> output [B, ..., C]. */
export type ActivationModel = (activation: tf.Tensor4D) => tf.Tensor;

/** Options of {@link gradCam}. */
export interface GradCamOptions {
  /** Keep only the positive evidence, as Grad-CAM does (default true); false returns the signed map. */
  relu?: boolean;
}

/**
 * Grad-CAM [B, h, w] of class `classIndex` at `activation` [B, h, w, K], NHWC (Selvaraju et al. 2017): channel
 * weights alpha_k = mean over (y, x) of d score / d A_k, map = ReLU(sum_k alpha_k * A_k). The score of image b is
 * `model(activation)[b, ..., classIndex]` summed over every position: a cls logit for CheXCls [B, C], the summed
 * logits of one channel for a det / seg map. Inference mode only: images must not interact (no batch statistics).
 * Leak-free (tidy); the caller disposes the result.
 *
 * @example
 * const map = gradCam((c5) => head.apply({ ...features, c5 }), features.c5, 3);   // [B, H/32, W/32]
 */
export function gradCam(
  model: ActivationModel,
  activation: tf.Tensor4D,
  classIndex: number,
  options: GradCamOptions = {},
): tf.Tensor3D {
  if (activation?.rank !== 4) {
    throw new DataError('Grad-CAM activation must be a feature map', {
      field: 'activation',
      expected: 'a tensor [B, h, w, K], NHWC',
      found: activation?.shape === undefined ? String(activation) : `shape [${activation.shape.join(', ')}]`,
    });
  }
  return tf.tidy(() => {
    const score = (a: tf.Tensor): tf.Scalar => {
      const out = model(a as tf.Tensor4D);
      const classes = out.shape[out.rank - 1]!;
      if (!(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < classes && out.rank >= 2)) {
        throw new DataError('Grad-CAM class index outside the model output', {
          field: 'classIndex',
          expected: `an integer in [0, ${classes - 1}] of an output [B, ..., ${classes}]`,
          found: `${classIndex} (output [${out.shape.join(', ')}])`,
        });
      }
      // a one-hot product rather than a gather: its gradient is a plain multiplication on every backend
      const pick = tf.tensor1d(Array.from({ length: classes }, (_, k) => (k === classIndex ? 1 : 0)));
      return tf.sum(tf.mul(out, pick));
    };
    // Images are independent at inference, so the gradient of the batch's summed score is each image's own.
    let grad: tf.Tensor4D;
    try {
      grad = tf.grad(score)(activation) as tf.Tensor4D;
    } catch (e) {
      // tfjs's message for an output computed without the activation: say it in the user's terms
      if (!(e instanceof Error) || !/Cannot compute gradient/.test(e.message)) throw e;
      throw new DataError('Grad-CAM: the model output does not depend on the activation', {
        field: 'activation',
        expected: 'a feature map the model reads (for a block: a level it reads)',
        found: `shape [${activation.shape.join(', ')}], not on the path to the output`,
      });
    }
    const alpha = tf.mean(grad, [1, 2], true);
    const map = tf.sum(tf.mul(alpha, activation), 3) as tf.Tensor3D;
    return options.relu === false ? map : tf.relu(map);
  });
}

/**
 * Grad-CAM [B, h, w] of any block over encoder features at one of the levels it reads ({@link gradCam} with
 * `features[level]` as the explained activation), e.g. CheXCls at c5, CheXSeg at c3, CheXDet's objectness channel.
 *
 * @example
 * const map = gradCamOfBlock(segHead, features, 'c4', 0);   // [B, H/16, W/16]
 */
export function gradCamOfBlock(
  block: Pick<Block<EncoderFeatures, tf.Tensor, unknown>, 'apply'>,
  features: EncoderFeatures,
  level: FeatureLevel,
  classIndex: number,
  options: GradCamOptions = {},
): tf.Tensor3D {
  const activation = features?.[level];
  if (activation === undefined) {
    throw new DataError('Grad-CAM features lack the level', {
      field: 'level',
      expected: `features with ${level}`,
      found:
        features === null || typeof features !== 'object'
          ? String(features)
          : `keys ${Object.keys(features).join(', ')}`,
    });
  }
  return gradCam((a) => block.apply({ ...features, [level]: a }), activation, classIndex, options);
}
