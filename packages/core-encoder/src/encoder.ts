import {
  ConfigError,
  DataError,
  LayerBlock,
  createRng,
  deriveSeed,
  parseConfig,
  registerBlock,
  tf,
  type ApplyOptions,
  type EncoderFeatures,
  type FeatureChannels,
  type Rng,
} from '@multichexnet/core';
import { EncoderConfigSchema, type EncoderConfig, type EncoderConfigInput } from './config';
import { buildDenseNet, denseNetFeatureChannels } from './densenet';
import { denseNetTrainingPass } from './memory-efficient';

/** Registry name of the encoder block. */
export const ENCODER_CLASS_NAME = 'core-encoder/DenseNetEncoder';

/** The input side length must be a multiple of this so that c2..c5 have exactly strides 4, 8, 16, 32. */
export const ENCODER_SIZE_MULTIPLE = 32;

/**
 * Features {c2, c3, c4, c5} as returned by an eager {@link Encoder.apply}: NHWC, strides 4/8/16/32. The index
 * signature only lets `tf.tidy(() => encoder.apply(x))` type-check (tidy keeps tensors of a returned object).
 */
export type EncoderOutput = EncoderFeatures & tf.TensorContainerObject;

/**
 * CheXEnc: image [B, H, W, Cin] (NHWC, normalised float) -> features {c2, c3, c4, c5}, NHWC, strides 4/8/16/32.
 * H and W must be multiples of 32.
 */
export interface Encoder extends LayerBlock<tf.Tensor4D, EncoderFeatures, EncoderConfig> {
  /** Channel counts of c2..c5: what a head needs to be built on this encoder. */
  readonly featureChannels: FeatureChannels;
  /**
   * Features {c2, c3, c4, c5} [B, H/s, W/s, C_l], NHWC, s = 4/8/16/32, of images [B, H, W, Cin]. Eager: features of an
   * image batch. Symbolic: the same graph on a symbolic input (to build a larger model).
   */
  apply(x: tf.Tensor4D, opts?: ApplyOptions): EncoderOutput;
  apply(x: tf.SymbolicTensor, opts?: ApplyOptions): EncoderFeatures<tf.SymbolicTensor>;
}

class DenseNetEncoder extends LayerBlock<tf.Tensor4D, EncoderFeatures, EncoderConfig> implements Encoder {
  readonly className = ENCODER_CLASS_NAME;
  readonly featureChannels: FeatureChannels;
  private readonly dropouts: tf.layers.Layer[];
  private readonly dropoutRng: Rng;

  constructor(config: EncoderConfig) {
    super(config, buildDenseNet(config));
    this.featureChannels = denseNetFeatureChannels(config);
    this.dropouts = this.layersModel.layers.filter((l) => l.getClassName() === 'Dropout');
    this.dropoutRng = createRng(deriveSeed(config.seed, 'dropout-masks'));
  }

  apply(x: tf.Tensor4D, opts?: ApplyOptions): EncoderOutput;
  apply(x: tf.SymbolicTensor, opts?: ApplyOptions): EncoderFeatures<tf.SymbolicTensor>;
  apply(x: tf.Tensor4D | tf.SymbolicTensor, opts?: ApplyOptions): EncoderOutput | EncoderFeatures<tf.SymbolicTensor> {
    this.checkInput(x.shape);
    if (x instanceof tf.Tensor) this.checkFinite(x);
    if (opts?.training === true) this.reseedDropout();
    const [c2, c3, c4, c5] = (
      this.config.memoryEfficient && opts?.training === true && x instanceof tf.Tensor
        ? this.runMemoryEfficient(x)
        : this.run([x], opts)
    ) as tf.Tensor4D[];
    return { c2: c2!, c3: c3!, c4: c4!, c5: c5! } as EncoderOutput;
  }

  /** The eager training pass that recomputes each dense layer's wide tensors in the backward pass. */
  private runMemoryEfficient(x: tf.Tensor4D): tf.Tensor4D[] {
    this.assertAlive();
    return denseNetTrainingPass(this.layersModel, this.config, x);
  }

  /**
   * tfjs's Dropout draws its mask from a fixed seed, so a seeded layer would drop the same units at every step.
   * A fresh seed per training call from the block's own seeded stream keeps dropout random across steps and the
   * whole run reproducible.
   */
  private reseedDropout(): void {
    for (const layer of this.dropouts) (layer as unknown as { seed: number }).seed = this.dropoutRng.seed();
  }

  /**
   * NaN pixels would not reach the output as NaN on every backend: ReLU and max pooling map them to plausible
   * numbers on wasm. A corrupt image must fail loudly instead, so eager inputs are scanned (one fused pass and a
   * one-element read, small next to the encoder itself).
   */
  private checkFinite(x: tf.Tensor): void {
    const ok = tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0] === 1);
    if (ok) return;
    const [count, first] = tf.tidy(() => {
      const bad = tf.logicalNot(tf.isFinite(x)).reshape([-1]).cast('int32');
      return [bad.sum().dataSync()[0]!, bad.argMax().dataSync()[0]!];
    });
    const perSample = x.shape.slice(1).reduce((a, b) => a * b, 1);
    throw new DataError('Encoder input holds non-finite pixels (NaN or Infinity)', {
      field: `${this.config.name} input`,
      expected: 'finite values',
      found: `${count} non-finite value(s), first in sample ${Math.floor(first / perSample)}`,
    });
  }

  private checkInput(shape: readonly (number | null)[]): void {
    const { inputChannels, name } = this.config;
    if (shape.length !== 4 || (shape[3] !== null && shape[3] !== inputChannels)) {
      throw new DataError('Encoder input must be an image batch [B, H, W, C] (NHWC)', {
        field: `${name} input`,
        expected: `[B, H, W, ${inputChannels}]`,
        found: `[${shape.join(', ')}]`,
      });
    }
    for (const [axis, size] of [
      ['H', shape[1]],
      ['W', shape[2]],
    ] as const) {
      if (size !== null && (size === 0 || size % ENCODER_SIZE_MULTIPLE !== 0)) {
        throw new DataError(
          `Encoder input ${axis} must be a positive multiple of ${ENCODER_SIZE_MULTIPLE} (strides 4..32)`,
          {
            field: `${name} input`,
            expected: `${axis} a multiple of ${ENCODER_SIZE_MULTIPLE}`,
            found: `[${shape.join(', ')}]`,
          },
        );
      }
    }
  }
}

/**
 * Creates CheXEnc, the shared DenseNet encoder: image [B, H, W, Cin] (NHWC) -> {c2, c3, c4, c5}.
 * Validates the config once (a bad field throws a ConfigError naming it); weights are initialised from `seed`.
 *
 * @example
 * const encoder = createEncoder({ preset: 'densenet-tiny', seed: 1 });
 * const { c5 } = encoder.apply(tf.zeros([2, 128, 128, 1]));   // c5: [2, 4, 4, encoder.featureChannels.c5]
 */
export function createEncoder(config: EncoderConfigInput = {}): Encoder {
  const resolved: EncoderConfig = parseConfig(EncoderConfigSchema, config, 'encoder config');
  // Rules that involve several fields at once: a transition must keep at least one channel.
  let c = resolved.initFeatures;
  for (let b = 0; b < 3; b++) {
    c += resolved.blockLayers[b]! * resolved.growthRate;
    c = Math.floor(c * resolved.compression);
    if (c < 1) {
      throw new ConfigError('encoder config', [
        {
          path: 'compression',
          rule: `must leave at least 1 channel after transition ${b + 1}`,
          received: JSON.stringify(resolved.compression),
        },
      ]);
    }
  }
  return new DenseNetEncoder(resolved);
}

registerBlock(ENCODER_CLASS_NAME, (config: EncoderConfigInput) => createEncoder(config));
