import { FeatureHead, assertShape, pooledLogitModel, blockFactory, tf, type FeatureBlock } from '@multichexnet/core';
import { CovidHeadConfigSchema, type CovidHeadConfig, type CovidHeadConfigInput } from './config';

/** Registry name of the COVID-19 head. */
export const COVID_HEAD_CLASS_NAME = 'head-covid/CovidHead';

/** CheXCovid: features {c2..c5} -> one COVID-19 logit [B, 1], pre-sigmoid. */
export interface CovidHead extends FeatureBlock<tf.Tensor2D, CovidHeadConfig> {
  readonly task: 'covid';
  /**
   * Scalar BCE of the logits [B, 1] against labels [B] (1 / 0; NaN = not annotated, no loss), positives weighted by
   * `posWeight`.
   */
  loss(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Scalar;
}

function buildCovidModel(c: CovidHeadConfig): tf.LayersModel {
  return pooledLogitModel({
    name: c.name,
    seed: c.seed,
    channels: c.featureChannels.c5,
    hidden: c.hidden,
    units: 1,
    outputName: 'logit',
  });
}

class CovidHeadImpl extends FeatureHead<tf.Tensor2D, CovidHeadConfig> implements CovidHead {
  readonly className = COVID_HEAD_CLASS_NAME;
  readonly task = 'covid' as const;

  constructor(config: CovidHeadConfig) {
    super(config, buildCovidModel(config), ['c5']);
  }

  loss(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Scalar {
    assertShape(`${this.config.name} logits`, logits.shape, [labels.shape[0], 1]);
    const posWeight = this.config.posWeight;
    return tf.tidy(() => {
      const known = tf.logicalNot(tf.isNaN(labels));
      const y = tf.where(known, labels, tf.zerosLike(labels));
      const z = logits.reshape([-1]);
      // Stable BCE on logits: max(z, 0) - z y + log(1 + exp(-|z|)), the positive term scaled by posWeight.
      const perSample = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
      const weights = tf.mul(tf.cast(known, 'float32'), tf.add(1, tf.mul(y, posWeight - 1)));
      return tf.div(tf.sum(tf.mul(perSample, weights)), tf.maximum(tf.sum(tf.cast(known, 'float32')), 1)) as tf.Scalar;
    });
  }
}

/**
 * Creates CheXCovid: global average pooling of c5 -> optional hidden dense + ReLU -> one logit [B, 1], pre-sigmoid.
 * Validates the config once (ConfigError names the field).
 *
 * @example
 * const head = createCovidHead({ featureChannels: encoder.featureChannels, seed: 1 });
 * const logits = head.apply(encoder.apply(images));   // [B, 1]
 */
export const createCovidHead: (config: CovidHeadConfigInput) => CovidHead = blockFactory(
  COVID_HEAD_CLASS_NAME,
  CovidHeadConfigSchema,
  'COVID-19 head config',
  (c) => new CovidHeadImpl(c),
);
