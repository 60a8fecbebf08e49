import { batchNorm, deriveSeed, tf } from '@multichexnet/core';
import type { SegHeadConfig } from './config';

/**
 * The functional graph of CheXSeg, an FPN-style decoder: each of c5..c2 gets a 1x1 lateral conv to D channels;
 * from the top, p5 = conv(lat5) and p_l = conv(up2(p_{l+1}) + lat_l), every conv a 3x3 conv + BatchNorm + ReLU;
 * a 1x1 conv turns p2 into one logit channel at stride 4, which is upsampled x4 to the full image.
 * Skips are added, not concatenated: on the wasm backend a channel concat costs as much as a conv
 * (TRAINING-SPEED.md, "Decoder ops"), and the x4 step runs on one channel only.
 * Inputs [c2, c3, c4, c5] (NHWC), output [B, H, W, 1] logits with H = 4 x c2 height.
 */
export function buildSegModel(config: SegHeadConfig): tf.LayersModel {
  const { name, seed, decoderChannels: D, upsampling, featureChannels, priorProbability } = config;
  const levels = ['c2', 'c3', 'c4', 'c5'] as const;
  const inputs = levels.map((l) => tf.input({ shape: [null, null, featureChannels[l]], name: `${name}_${l}` }));
  const lateral = inputs.map(
    (x, i) =>
      tf.layers
        .conv2d({
          filters: D,
          kernelSize: 1,
          useBias: true,
          kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, `lateral_${levels[i]}`) }),
          name: `${name}_lateral_${levels[i]}`,
        })
        .apply(x) as tf.SymbolicTensor,
  );
  const convBnRelu = (x: tf.SymbolicTensor, tag: string): tf.SymbolicTensor => {
    let y = tf.layers
      .conv2d({
        filters: D,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: deriveSeed(seed, tag) }),
        name: `${name}_${tag}_conv`,
      })
      .apply(x) as tf.SymbolicTensor;
    y = batchNorm({ name: `${name}_${tag}_bn` }).apply(y) as tf.SymbolicTensor;
    return tf.layers.reLU({ name: `${name}_${tag}_relu` }).apply(y) as tf.SymbolicTensor;
  };
  let p = convBnRelu(lateral[3]!, 'p5');
  for (let i = 2; i >= 0; i--) {
    const up = tf.layers
      .upSampling2d({ size: [2, 2], interpolation: upsampling, name: `${name}_up_${levels[i + 1]}` })
      .apply(p) as tf.SymbolicTensor;
    const merged = tf.layers.add({ name: `${name}_merge_${levels[i]}` }).apply([up, lateral[i]!]) as tf.SymbolicTensor;
    p = convBnRelu(merged, `p${i + 2}`);
  }
  const logitLayer = tf.layers.conv2d({
    filters: 1,
    kernelSize: 1,
    useBias: true,
    kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: deriveSeed(seed, 'logit') }),
    biasInitializer: tf.initializers.constant({ value: Math.log(priorProbability / (1 - priorProbability)) }),
    name: `${name}_logit`,
  });
  const logit4 = logitLayer.apply(p) as tf.SymbolicTensor;
  const out = tf.layers
    .upSampling2d({ size: [4, 4], interpolation: upsampling, name: `${name}_up_full` })
    .apply(logit4) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: out, name });
}
