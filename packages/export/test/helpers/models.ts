import { CHESTXRAY14_CLASSES, tf, type EncoderFeatures } from '@multichexnet/core';
// Tests compose the real encoder with the real heads to check export parity; src/ never imports the encoder.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createEncoder, type EncoderPreset } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createDetHead } from '@multichexnet/head-det';
import { createSegHead } from '@multichexnet/head-seg';
import { createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import type { PipelineGateHead, PipelineModel } from '../../src/index';
import { randomizeStatistics } from './parity';

/**
 * A MultiCheXNet made of the project's real blocks (`model`, and each block by name), with non-trivial BatchNorm
 * statistics and biases.
 */
export function buildBlocks(preset: EncoderPreset, seed = 1) {
  const encoder = createEncoder({ preset, seed });
  const featureChannels = encoder.featureChannels;
  const cls = createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels, hidden: 16, seed: seed + 1 });
  const det = createDetHead({ featureChannels, hiddenChannels: 16, seed: seed + 2, decode: { scoreThreshold: 0.05 } });
  const seg = createSegHead({ featureChannels, decoderChannels: 8, seed: seed + 3 });
  for (const [i, b] of [encoder, cls, det, seg].entries()) randomizeStatistics(b.layersModel, seed * 10 + i);
  const model: MultiCheXNet = createMultiCheXNet({ encoder, heads: { cls, det, seg } });
  return { encoder, cls, det, seg, model, dispose: () => model.dispose() };
}

/** The `metadata.gate` of a model gated on its classifier's probabilities of `classes`. */
export function clsGate(classes: string[], threshold: number) {
  return { source: 'cls', task: 'cls', probabilities: 'cls_probs', classes, threshold };
}

/**
 * The parts of `model` the exporter reads, with `gateHead` (any layer block over the features with one logit) as a
 * dedicated binary gate.
 */
export function withGateHead(model: PipelineModel, gateHead: PipelineGateHead, threshold = 0.5): PipelineModel {
  return {
    encoder: model.encoder,
    taskSpecs: model.taskSpecs,
    heads: model.heads,
    gate: { config: { kind: 'binary-head' }, threshold, head: gateHead },
  };
}

/** tfjs reference of every head on an image batch [B, H, W, C] (NHWC): logits/raw outputs, eager. */
export function referenceForward(
  blocks: ReturnType<typeof buildBlocks>,
  images: tf.Tensor4D,
): { features: EncoderFeatures; clsProbs: tf.Tensor2D; detRaw: tf.Tensor4D; segProbs: tf.Tensor4D } {
  const features = blocks.encoder.apply(images);
  const clsProbs = tf.tidy(() => tf.sigmoid(blocks.cls.apply(features)));
  const detRaw = blocks.det.apply(features);
  const segProbs = tf.tidy(() => tf.sigmoid(blocks.seg.apply(features)));
  return { features, clsProbs, detRaw, segProbs };
}
