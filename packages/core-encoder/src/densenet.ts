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

/** What builds a DenseNet: the architecture, the block name (prefix of every layer), the seed, the input channels. */
export interface DenseNetArgs extends DenseNetArchitecture {
  name: string;
  seed: number;
  inputChannels: number;
}

/** Layer names (without the block-name prefix) of dense layer `layer` (1-based) of block `block` (0-based). */
export function denseLayerNames(block: number, layer: number) {
  const id = `block${block + 1}_layer${layer}`;
  return {
    bn1: `${id}_1_bn`,
    conv1: `${id}_conv1`,
    bn2: `${id}_2_bn`,
    conv2: `${id}_conv2`,
    drop: `${id}_drop`,
    concat: `${id}_concat`,
  };
}

/** Layer names (without the block-name prefix) of the transition after block `block` (0-based, 0..2). */
export function transitionNames(block: number) {
  const t = `transition${block + 1}`;
  return { bn: `${t}_bn`, conv: `${t}_conv`, pool: `${t}_pool` };
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
export function buildDenseNet(args: DenseNetArgs): tf.LayersModel {
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
    batchNorm({ name: `${name}_${layer}`, momentum: 0.9, epsilon: 1e-5, relu: true }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [null, null, args.inputChannels], name: `${name}_image` });
  let x = tf.layers.zeroPadding2d({ name: `${name}_stem_pad`, padding: 3 }).apply(input) as tf.SymbolicTensor;
  x = conv(args.initFeatures, 7, 2, 'valid', 'stem_conv').apply(x) as tf.SymbolicTensor;
  x = bnRelu(x, 'stem_bn');
  // Zero padding before the max pool equals PyTorch's -inf padding here because the input is post-ReLU (>= 0).
  x = tf.layers.zeroPadding2d({ name: `${name}_stem_pool_pad`, padding: 1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .maxPooling2d({ name: `${name}_stem_pool`, poolSize: 3, strides: 2, padding: 'valid' })
    .apply(x) as tf.SymbolicTensor;

  let channels = args.initFeatures;
  const features: tf.SymbolicTensor[] = [];
  args.blockLayers.forEach((layers, b) => {
    for (let l = 1; l <= layers; l++) {
      const n = denseLayerNames(b, l);
      let h = bnRelu(x, n.bn1);
      if (args.bottleneckWidth > 0) {
        h = conv(args.bottleneckWidth * args.growthRate, 1, 1, 'valid', n.conv1).apply(h) as tf.SymbolicTensor;
        h = bnRelu(h, n.bn2);
      }
      h = conv(args.growthRate, 3, 1, 'same', n.conv2).apply(h) as tf.SymbolicTensor;
      if (args.dropRate > 0) {
        h = tf.layers
          .dropout({ name: `${name}_${n.drop}`, rate: args.dropRate, seed: deriveSeed(seed, n.drop) })
          .apply(h) as tf.SymbolicTensor;
      }
      x = tf.layers.concatenate({ name: `${name}_${n.concat}`, axis: -1 }).apply([x, h]) as tf.SymbolicTensor;
      channels += args.growthRate;
    }
    if (b < 3) {
      const t = transitionNames(b);
      const feat = bnRelu(x, t.bn);
      features.push(feat);
      channels = Math.floor(channels * args.compression);
      x = conv(channels, 1, 1, 'valid', t.conv).apply(feat) as tf.SymbolicTensor;
      x = tf.layers
        .averagePooling2d({ name: `${name}_${t.pool}`, poolSize: 2, strides: 2, padding: 'valid' })
        .apply(x) as tf.SymbolicTensor;
    } else {
      features.push(bnRelu(x, 'final_bn'));
    }
  });
  return tf.model({ name, inputs: input, outputs: features });
}
