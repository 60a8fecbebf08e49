import { BATCH_NORM_RELU_CLASS_NAME, DataError, type tf } from '@multichexnet/core';
import type { Value } from '../onnx/graph-builder';
import { applyActivation } from './activation';
import type { AffineFold, ConvertArgs } from './converter';
import { readLayerWeights, requireWeight } from './layer-weights';

/** An inference-mode BatchNorm as plain numbers. */
export interface BatchNormParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
  /** The layer applies a ReLU after normalising (the project's fused BatchNorm). */
  relu: boolean;
}

/**
 * Whether a layer is a BatchNorm: tfjs' own `BatchNormalization`, or any layer with its config (epsilon,
 * momentum) and weights (moving_mean, moving_variance), such as the project's fast fused BatchNorm, whatever its
 * class name.
 */
export function isBatchNormLayer(layer: tf.layers.Layer): boolean {
  if (layer.getClassName() === 'BatchNormalization') return true;
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (typeof cfg.epsilon !== 'number' || typeof cfg.momentum !== 'number') return false;
  const names = layer.weights.map((w) => w.name);
  return names.some((n) => /moving_mean(_\d+)?$/.test(n)) && names.some((n) => /moving_variance(_\d+)?$/.test(n));
}

/**
 * Whether a BatchNorm-like layer applies a ReLU itself: core's `BatchNormReLU` (class name, or its `fusedRelu`
 * flag), or a config saying `relu: true` / `activation: 'relu'`.
 */
function fusesRelu(layer: tf.layers.Layer, cfg: Record<string, unknown>): boolean {
  return (
    layer.getClassName() === BATCH_NORM_RELU_CLASS_NAME ||
    (layer as unknown as { fusedRelu?: unknown }).fusedRelu === true ||
    cfg.relu === true ||
    cfg.activation === 'relu'
  );
}

/** Reads a BatchNorm's parameters; its axis must be the last (channels) axis of a `rank`-D input. */
export function readBatchNorm(layer: tf.layers.Layer, rank: number): BatchNormParams {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const axis = (cfg.axis as number | undefined) ?? -1;
  if (axis !== -1 && axis !== rank - 1) {
    throw new DataError('BatchNorm over an axis other than channels-last is not supported by the ONNX exporter', {
      field: `${layer.name} (${layer.getClassName()})`,
      expected: `axis -1 or ${rank - 1}`,
      found: `axis ${JSON.stringify(cfg.axis)}`,
    });
  }
  const weights = readLayerWeights(layer);
  const mean = requireWeight(weights, 'moving_mean', layer).data;
  const variance = requireWeight(weights, 'moving_variance', layer).data;
  const c = mean.length;
  return {
    gamma: cfg.scale === false ? new Float32Array(c).fill(1) : requireWeight(weights, 'gamma', layer).data,
    beta: cfg.center === false ? new Float32Array(c) : requireWeight(weights, 'beta', layer).data,
    mean,
    variance,
    epsilon: (cfg.epsilon as number | undefined) ?? 1e-3,
    relu: fusesRelu(layer, cfg),
  };
}

/** The BatchNorm as y = x * scale + shift, computed in double precision. */
export function batchNormAffine(p: BatchNormParams, from: string): AffineFold {
  const c = p.mean.length;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = p.gamma[i]! / Math.sqrt(p.variance[i]! + p.epsilon);
    shift[i] = p.beta[i]! - p.mean[i]! * scale[i]!;
  }
  return { scale, shift, relu: p.relu, from };
}

/**
 * A BatchNorm that does not follow a conv: ONNX BatchNormalization on NCHW or [B, C] values, a broadcast
 * Mul + Add on the last axis for any other rank.
 */
export function convertBatchNorm({ gb, layer, inputs, outShape, base }: ConvertArgs): Value {
  const x = inputs[0]!;
  const p = readBatchNorm(layer, x.shape.length);
  const c = p.mean.length;
  let out: Value;
  if (x.layout === 'nchw' || x.shape.length === 2) {
    const names = [
      gb.floats(`${base}/gamma`, [c], p.gamma),
      gb.floats(`${base}/beta`, [c], p.beta),
      gb.floats(`${base}/moving_mean`, [c], p.mean),
      gb.floats(`${base}/moving_variance`, [c], p.variance),
    ];
    const [name] = gb.node('BatchNormalization', [x.name, ...names], { epsilon: { float: p.epsilon } }, base);
    out = { name: name!, shape: outShape, layout: x.layout };
  } else {
    const { scale, shift } = batchNormAffine(p, base);
    const mul = gb.node(
      'Mul',
      [x.name, gb.floats(`${base}/scale`, [c], Float32Array.from(scale))],
      {},
      `${base}_scale`,
    )[0]!;
    const add = gb.node('Add', [mul, gb.floats(`${base}/shift`, [c], Float32Array.from(shift))], {}, base)[0]!;
    out = { name: add, shape: outShape, layout: 'plain' };
  }
  return p.relu ? applyActivation(gb, out, 'relu', base) : out;
}
