import { tf } from '../tf';
import { DataError, assertShape } from '../errors';
import { deriveSeed } from '../rng';
import type { AnyTensor, ApplyOptions, EncoderFeatures, FeatureChannels, FeatureLevel } from './block';
import { LayerBlock } from './layer-block';

/** What {@link featureInput} needs of a head's config. */
export interface FeatureInputConfig {
  /** Block name, used in errors. */
  readonly name: string;
  /** Channels of the encoder's feature levels. */
  readonly featureChannels: FeatureChannels;
}

/**
 * The level `level` of encoder features, checked as a head input [B, H, W, featureChannels[level]] (NHWC). A
 * DataError names the head and the level when the features lack it or its shape is wrong.
 */
export function featureInput<T extends AnyTensor>(
  features: EncoderFeatures<T>,
  level: FeatureLevel,
  head: FeatureInputConfig,
): T {
  const { name, featureChannels } = head;
  const x = features?.[level];
  if (x === undefined) {
    throw new DataError('Head input lacks its feature level', {
      field: `${name} features`,
      expected: `features with ${level}`,
      found:
        features === null || typeof features !== 'object'
          ? String(features)
          : `keys ${Object.keys(features).join(', ')}`,
    });
  }
  assertShape(`${name} features.${level}`, x.shape, [null, null, null, featureChannels[level]]);
  return x;
}

/**
 * A block on the encoder features {c2..c5}: its output Y for eager features, a symbolic tensor of a larger graph for
 * symbolic ones.
 */
export interface FeatureBlock<Y extends tf.Tensor, C> extends LayerBlock<EncoderFeatures, Y, C> {
  apply(features: EncoderFeatures, opts?: ApplyOptions): Y;
  apply(features: EncoderFeatures<tf.SymbolicTensor>, opts?: ApplyOptions): tf.SymbolicTensor;
}

/**
 * Base class of the heads that sit on the encoder: `apply` checks the feature levels the head reads
 * ({@link featureInput}) and runs the wrapped model on them, eager or symbolic, returning its single output.
 */
export abstract class FeatureHead<Y extends tf.Tensor, C extends FeatureInputConfig>
  extends LayerBlock<EncoderFeatures, Y, C>
  implements FeatureBlock<Y, C>
{
  /** The levels the model takes, in its input order. */
  private readonly levels: readonly FeatureLevel[];

  protected constructor(config: C, layersModel: tf.LayersModel, levels: readonly FeatureLevel[]) {
    super(config, layersModel);
    this.levels = levels;
  }

  /** The model's inputs: the checked levels of `features`. Subclasses add checks (or training-time set-up). */
  protected inputs<T extends AnyTensor>(features: EncoderFeatures<T>, _opts?: ApplyOptions): T[] {
    return this.levels.map((level) => featureInput(features, level, this.config));
  }

  apply(features: EncoderFeatures, opts?: ApplyOptions): Y;
  apply(features: EncoderFeatures<tf.SymbolicTensor>, opts?: ApplyOptions): tf.SymbolicTensor;
  apply(features: EncoderFeatures<tf.Tensor4D | tf.SymbolicTensor>, opts?: ApplyOptions): Y | tf.SymbolicTensor {
    return this.run(this.inputs(features, opts), opts)[0] as Y | tf.SymbolicTensor;
  }
}

/** The layers of a {@link pooledLogitModel}. */
export interface PooledLogitOptions {
  /** Block name, prefix of every layer name. */
  name: string;
  /** Seed of the initializers (and of the dropout layer). */
  seed: number;
  /** Channels of the pooled feature level. */
  channels: number;
  /** Units of the hidden dense + ReLU after pooling (0 = none). */
  hidden: number;
  /** Dropout rate before the logits (0 = no dropout layer). */
  dropout?: number;
  /** Units of the logits layer, named `<name>_<outputName>`. */
  units: number;
  outputName: string;
  /** Initial bias of the logits (tfjs's zeros when absent). */
  bias?: number;
}

/**
 * Global average pooling of one feature level [B, h, w, channels] -> optional hidden dense + ReLU -> optional
 * dropout -> dense logits [B, units], pre-sigmoid: the graph of the image-level heads (CheXCls, the gate, CheXCovid).
 */
export function pooledLogitModel(o: PooledLogitOptions): tf.LayersModel {
  const { name, seed } = o;
  const input = tf.input({ shape: [null, null, o.channels], name: `${name}_features` });
  let x = tf.layers.globalAveragePooling2d({ name: `${name}_pool` }).apply(input) as tf.SymbolicTensor;
  if (o.hidden > 0) {
    x = tf.layers
      .dense({
        name: `${name}_hidden`,
        units: o.hidden,
        kernelInitializer: tf.initializers.heNormal({ seed: deriveSeed(seed, 'hidden') }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `${name}_hidden_relu` }).apply(x) as tf.SymbolicTensor;
  }
  if (o.dropout !== undefined && o.dropout > 0) {
    x = tf.layers
      .dropout({ name: `${name}_dropout`, rate: o.dropout, seed: deriveSeed(seed, 'dropout') })
      .apply(x) as tf.SymbolicTensor;
  }
  const logits = tf.layers
    .dense({
      name: `${name}_${o.outputName}`,
      units: o.units,
      kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, o.outputName) }),
      ...(o.bias === undefined ? {} : { biasInitializer: tf.initializers.constant({ value: o.bias }) }),
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ name, inputs: input, outputs: logits });
}
