import { DataError, deriveSeed, tf, type FeatureChannels } from '@multichexnet/core';
import { createClsHead, type ClassWeights, type ClsHead } from '@multichexnet/head-cls';
import type { FineTuneConfig } from './config';

function copyLayer(from: tf.LayersModel, to: tf.LayersModel, name: string): void {
  to.getLayer(name).setWeights(from.getLayer(name).getWeights());
}

/**
 * The cls head of the fine-tuned model. With a source head: the same pooling level, hidden layer and dropout, its
 * feature layers (theta_feats) copied, and theta_dec new with C' outputs (`decoder: 'new'`) or copied too
 * (`keep`, same classes). Without one: a fresh head from `config.head`. Class weights go into the head's config,
 * so they are saved with it.
 */
export function createDecoderHead(
  source: ClsHead | undefined,
  featureChannels: FeatureChannels,
  cfg: FineTuneConfig,
  weights: ClassWeights | null,
): ClsHead {
  const seed = deriveSeed(cfg.seed, 'decoder');
  const classWeights = weights ?? {};
  if (source === undefined) {
    if (cfg.decoder === 'keep')
      throw new DataError('decoder "keep" needs a source model with a cls head', {
        field: 'decoder',
        expected: '"new" for a model without a cls head',
        found: '"keep"',
      });
    return createClsHead({ classes: cfg.classes, featureChannels, ...cfg.head, seed, name: 'cls', ...classWeights });
  }
  if (cfg.decoder === 'keep' && JSON.stringify(source.config.classes) !== JSON.stringify(cfg.classes)) {
    throw new DataError('decoder "keep" trains the source decoder, so the classes must be its classes', {
      field: 'classes',
      expected: JSON.stringify(source.config.classes),
      found: JSON.stringify(cfg.classes),
    });
  }
  const { posWeights: _p, negWeights: _n, ...base } = source.config;
  const head = createClsHead({ ...base, classes: cfg.classes, seed, ...classWeights });
  try {
    const from = source.layersModel;
    const to = head.layersModel;
    const output = (to.outputs[0] as tf.SymbolicTensor).sourceLayer.name;
    for (const layer of to.layers) {
      if (layer.weights.length === 0) continue;
      if (layer.name !== output || cfg.decoder === 'keep') copyLayer(from, to, layer.name);
    }
  } catch (e) {
    head.dispose();
    throw e;
  }
  return head;
}
