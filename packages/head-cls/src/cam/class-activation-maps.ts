import { DataError, assertShape, featureInput, tf, type EncoderFeatures } from '@multichexnet/core';
import type { ClsHeadConfig } from '../config';

/** What the CAM needs of a CheXCls: its config and the layers model holding the `<name>_logits` dense layer. */
export interface CamSource {
  readonly config: ClsHeadConfig;
  readonly layersModel: tf.LayersModel;
}

/**
 * The logits kernel [K, C] (K channels of the pooled level, C classes) of a head whose logits are an affine map of
 * the pooled features, the only case where the class activation map is exact. Errors name the head when a hidden
 * layer sits between pooling and logits (the ReLU breaks the linearity: use core's `gradCam` there).
 */
function logitsKernel(head: CamSource): tf.Tensor2D {
  const { name, hidden } = head.config;
  if (hidden > 0) {
    throw new DataError('Class activation maps need a CheXCls without a hidden layer', {
      field: `${name}.hidden`,
      expected: '0 (pooling then one dense layer: CAM is then exact)',
      found: `${hidden} (use gradCam of @multichexnet/core for this head)`,
    });
  }
  return head.layersModel.getLayer(`${name}_logits`).getWeights()[0] as tf.Tensor2D;
}

/**
 * Class activation maps [B, h, w, C], NHWC, of CheXCls over its pooled level `F` [B, h, w, K]:
 * `CAM_c(y, x) = sum_k W[k, c] * F_k(y, x)` (Zhou et al. 2016). The head is global average pooling + one dense
 * layer, so the map is exact: its spatial mean plus the bias is the logit. Dropout is identity at inference.
 * Eager tensors only (tidy; the caller disposes the result).
 *
 * @example
 * const cams = classActivationMaps(head, encoder.apply(images));   // [B, H/32, W/32, 14]
 */
export function classActivationMaps(head: CamSource, features: EncoderFeatures): tf.Tensor4D {
  const { level, classes } = head.config;
  const x = featureInput(features, level, head.config);
  const kernel = logitsKernel(head);
  return tf.tidy(() => {
    const [b, h, w, k] = x.shape;
    return tf.matMul(tf.reshape(x, [b * h * w, k]), kernel).reshape([b, h, w, classes.length]) as tf.Tensor4D;
  });
}

/**
 * Class activation maps [B, h, w, C], NHWC, of a graph being built: a new 1x1 Conv2D layer (no bias) applied to the
 * symbolic pooled level, holding a copy of the head's logits kernel, so it computes the same values as
 * {@link classActivationMaps}. The copy is taken now: build the graph after training (the export's `cls_cam`).
 *
 * @example
 * const cam = applyCamLayer(head, symbolicFeatures.c5);   // SymbolicTensor [B, h, w, C]
 */
export function applyCamLayer(head: CamSource, x: tf.SymbolicTensor): tf.SymbolicTensor {
  const { name, classes, level, featureChannels } = head.config;
  assertShape(`${name} features.${level}`, x.shape, [null, null, null, featureChannels[level]]);
  const kernel = logitsKernel(head);
  const layer = tf.layers.conv2d({
    name: `${name}_cam_conv`,
    filters: classes.length,
    kernelSize: 1,
    useBias: false,
    trainable: false,
  });
  const out = layer.apply(x) as tf.SymbolicTensor;
  const k = kernel.reshape([1, 1, kernel.shape[0], kernel.shape[1]]);
  layer.setWeights([k]);
  k.dispose();
  return out;
}
