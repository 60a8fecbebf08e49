import { batchNorm, deriveSeed, tf } from '@multichexnet/core';
import type { DetHeadConfig } from './config';
import { DET_VALUES_PER_ANCHOR } from './grid';

/**
 * The functional graph of CheXDet: features [B, S_h, S_w, C] -> hiddenLayers x (3x3 conv, BatchNorm, ReLU) ->
 * 1x1 conv to K*5 channels (tx, ty, tw, th, objectness logit per anchor). Fully convolutional, so one head serves
 * any input size.
 */
export function buildDetModel(config: DetHeadConfig): tf.LayersModel {
  const { name, seed, hiddenChannels, hiddenLayers, anchors, level, featureChannels, priorProbability } = config;
  const input = tf.input({ shape: [null, null, featureChannels[level]], name: `${name}_in` });
  let x: tf.SymbolicTensor = input;
  for (let i = 1; i <= hiddenLayers; i++) {
    x = tf.layers
      .conv2d({
        filters: hiddenChannels,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: deriveSeed(seed, `hidden${i}`) }),
        name: `${name}_hidden${i}_conv`,
      })
      .apply(x) as tf.SymbolicTensor;
    x = batchNorm({ name: `${name}_hidden${i}_bn` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `${name}_hidden${i}_relu` }).apply(x) as tf.SymbolicTensor;
  }
  const K = anchors.length;
  const pred = tf.layers.conv2d({
    filters: K * DET_VALUES_PER_ANCHOR,
    kernelSize: 1,
    padding: 'same',
    useBias: true,
    kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: deriveSeed(seed, 'pred') }),
    name: `${name}_pred`,
  });
  const out = pred.apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name });
  // Objectness logits start at the prior (RetinaNet's initialisation): with ~K*S*S negatives per positive, a 0.5
  // start would make the first steps all about suppressing the negatives.
  const bias = new Float32Array(K * DET_VALUES_PER_ANCHOR);
  for (let k = 0; k < K; k++) bias[k * DET_VALUES_PER_ANCHOR + 4] = Math.log(priorProbability / (1 - priorProbability));
  const [kernel] = pred.getWeights();
  const biasTensor = tf.tensor1d(bias);
  pred.setWeights([kernel!, biasTensor]);
  biasTensor.dispose();
  return model;
}
