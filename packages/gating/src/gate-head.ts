import {
  FeatureHead,
  assertShape,
  pooledLogitModel,
  blockFactory,
  tf,
  type FeatureBlock,
  type Head,
} from '@multichexnet/core';
import { GateHeadConfigSchema, type GateHeadConfig, type GateHeadConfigInput } from './config';
import { gateBinaryCrossEntropy } from './losses/binary-cross-entropy';

/** Registry name of the dedicated gate head. */
export const GATE_HEAD_CLASS_NAME = 'gating/GateHead';

/**
 * The dedicated binary gate: features {c2..c5} -> logit [B, 1], pre-sigmoid ("does this image hold a finding the
 * det/seg heads should see?"). Its `loss` is the masked BCE: target [B] of 0/1 (NaN = no gate label), logits [B, 1],
 * mask [B] of 0/1; `decode` turns logits [B, 1] into the probability of each image.
 */
export interface GateHead
  extends FeatureBlock<tf.Tensor2D, GateHeadConfig>, Head<tf.Tensor2D, tf.Tensor1D, number, GateHeadConfig> {
  readonly task: 'gate';
}

function buildGateModel(c: GateHeadConfig): tf.LayersModel {
  const prior = c.priorProbability;
  return pooledLogitModel({
    name: c.name,
    seed: c.seed,
    channels: c.featureChannels[c.level],
    hidden: c.hidden,
    units: 1,
    outputName: 'logit',
    // Start at the prior, as RetinaNet does for rare positives: the first steps do not fight a 0.5 guess.
    bias: Math.log(prior / (1 - prior)),
  });
}

class GateHeadImpl extends FeatureHead<tf.Tensor2D, GateHeadConfig> implements GateHead {
  readonly className = GATE_HEAD_CLASS_NAME;
  readonly task = 'gate' as const;

  constructor(config: GateHeadConfig) {
    super(config, buildGateModel(config), [config.level]);
  }

  loss(target: tf.Tensor1D, output: tf.Tensor2D, mask?: tf.Tensor1D): tf.Scalar {
    return gateBinaryCrossEntropy(target, output, mask);
  }

  decode(output: tf.Tensor2D): number[] {
    assertShape(`${this.config.name} logits`, output.shape, [null, 1]);
    return Array.from(tf.tidy(() => tf.sigmoid(output).dataSync()));
  }
}

/**
 * Creates the dedicated gate head: global average pooling of one encoder level -> optional dense + ReLU -> one
 * logit [B, 1]. Validates the config once (ConfigError names the field); weights come from `seed`.
 *
 * @example
 * const head = createGateHead({ featureChannels: encoder.featureChannels, seed: 1 });
 * const logits = head.apply(encoder.apply(images));          // [B, 1]
 * const loss = head.loss(tf.tensor1d([1, 0, NaN]), logits);   // NaN = no gate label
 * head.decode(logits);                                        // [0.81, 0.12, 0.47]
 */
export const createGateHead: (config: GateHeadConfigInput) => GateHead = blockFactory(
  GATE_HEAD_CLASS_NAME,
  GateHeadConfigSchema,
  'gate head config',
  (c) => new GateHeadImpl(c),
);
