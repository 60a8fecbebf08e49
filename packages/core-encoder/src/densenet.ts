import { batchNorm, deriveSeed, tf, type FeatureChannels } from '@multichexnet/core';
import type { DenseNetArchitecture } from './presets';

/** Channel counts of c2..c5 for an architecture (what heads are built against). */
export function denseNetFeatureChannels(arch: DenseNetArchitecture): FeatureChannels {
  const out: number[] = [];
  let c = arch.initFeatures;
  arch.blockLayers.forEach((layers, i) => {
    c += layers * arch.growthRate;
    out.push(c);
    if (i < 3) c = Math.floor(c * arch.compression);
  });
  return { c2: out[0]!, c3: out[1]!, c4: out[2]!, c5: out[3]! };
}

interface BuildArgs extends DenseNetArchitecture {
  name: string;
  seed: number;
  inputChannels: number;
}

/**
 * Builds DenseNet-BC as one functional model: image [B, H, W, Cin] -> [c2, c3, c4, c5], NHWC, strides 4/8/16/32.
 *
 * Layout follows torchvision's DenseNet (the network CheXNet trained), so its weights map one to one:
 * explicit zero padding 3 before the 7x7/2 stem and 1 before the 3x3/2 max pool reproduces PyTorch's symmetric
 * padding (tfjs 'same' pads asymmetrically for even sizes), BatchNorm uses PyTorch's epsilon 1e-5 and momentum
 * 0.1 (tfjs momentum 0.9), convolutions have no bias.
 *
 * Each level's feature is the BN+ReLU of a dense block's output: for c2..c4 that is the first half of the
 * following transition (computed anyway), for c5 it is DenseNet's final norm5 + ReLU. So heads see normalised
 * activations and the feature taps add no parameters.
 */
export function buildDenseNet(args: BuildArgs): tf.LayersModel {
  const { name, seed } = args;
  const conv = (filters: number, kernelSize: number, strides: number, padding: 'same' | 'valid', layer: string) =>
    tf.layers.conv2d({
      name: `${name}_${layer}`,
      filters,
      kernelSize,
      strides,
      padding,
      useBias: false,
      // He init as torchvision's DenseNet (kaiming normal, fan-in); one seed per layer, derived from its name, so
      // changing one block does not reshuffle the initial weights of the others.
      kernelInitializer: tf.initializers.heNormal({ seed: deriveSeed(seed, layer) }),
    });
  // Every BatchNorm of DenseNet is followed by a ReLU: core's fused layer does both in one pass (one kernel on wasm).
  const bnRelu = (x: tf.SymbolicTensor, layer: string): tf.SymbolicTensor =>
    batchNorm({ name: `${name}_${layer}_bn`, momentum: 0.9, epsilon: 1e-5, relu: true }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [null, null, args.inputChannels], name: `${name}_image` });
  let x = tf.layers.zeroPadding2d({ name: `${name}_stem_pad`, padding: 3 }).apply(input) as tf.SymbolicTensor;
  x = conv(args.initFeatures, 7, 2, 'valid', 'stem_conv').apply(x) as tf.SymbolicTensor;
  x = bnRelu(x, 'stem');
  // Zero padding before the max pool equals PyTorch's -inf padding here because the input is post-ReLU (>= 0).
  x = tf.layers.zeroPadding2d({ name: `${name}_stem_pool_pad`, padding: 1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ name: `${name}_stem_pool`, poolSize: 3, strides: 2, padding: 'valid' }).apply(x) as tf.SymbolicTensor;

  let channels = args.initFeatures;
  const features: tf.SymbolicTensor[] = [];
  args.blockLayers.forEach((layers, b) => {
    const block = `block${b + 1}`;
    for (let l = 1; l <= layers; l++) {
      const id = `${block}_layer${l}`;
      let h = bnRelu(x, `${id}_1`);
      if (args.bottleneckWidth > 0) {
        h = conv(args.bottleneckWidth * args.growthRate, 1, 1, 'valid', `${id}_conv1`).apply(h) as tf.SymbolicTensor;
        h = bnRelu(h, `${id}_2`);
      }
      h = conv(args.growthRate, 3, 1, 'same', `${id}_conv2`).apply(h) as tf.SymbolicTensor;
      if (args.dropRate > 0) {
        h = tf.layers.dropout({ name: `${name}_${id}_drop`, rate: args.dropRate, seed: deriveSeed(seed, `${id}_drop`) }).apply(h) as tf.SymbolicTensor;
      }
      x = tf.layers.concatenate({ name: `${name}_${id}_concat`, axis: -1 }).apply([x, h]) as tf.SymbolicTensor;
      channels += args.growthRate;
    }
    if (b < 3) {
      const t = `transition${b + 1}`;
      const feat = bnRelu(x, t);
      features.push(feat);
      channels = Math.floor(channels * args.compression);
      x = conv(channels, 1, 1, 'valid', `${t}_conv`).apply(feat) as tf.SymbolicTensor;
      x = tf.layers.averagePooling2d({ name: `${name}_${t}_pool`, poolSize: 2, strides: 2, padding: 'valid' }).apply(x) as tf.SymbolicTensor;
    } else {
      features.push(bnRelu(x, 'final'));
    }
  });
  return tf.model({ name, inputs: input, outputs: features });
}
