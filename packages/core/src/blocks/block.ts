import type { tf } from '../tf';

/** Options passed to every {@link Block.apply}. */
export interface ApplyOptions {
  /** Training mode: BatchNorm uses batch statistics and updates its moving averages, dropout is active. */
  training?: boolean;
}

/** A tensor that flows through a block: eager (`tf.Tensor`) or symbolic (`tf.SymbolicTensor`, graph building). */
export type AnyTensor = tf.Tensor | tf.SymbolicTensor;

/**
 * Multi-scale features of the shared encoder CheXEnc, NHWC.
 * `c2` has stride 4, `c3` stride 8, `c4` stride 16 and `c5` stride 32 relative to the input image.
 */
export interface EncoderFeatures<T = tf.Tensor4D> {
  /** [B, H/4, W/4, C2] */
  c2: T;
  /** [B, H/8, W/8, C3] */
  c3: T;
  /** [B, H/16, W/16, C4] */
  c4: T;
  /** [B, H/32, W/32, C5] */
  c5: T;
}

/** The level names of {@link EncoderFeatures}, coarsest last. */
export const FEATURE_LEVELS = ['c2', 'c3', 'c4', 'c5'] as const;
/** One of `c2`, `c3`, `c4`, `c5`. */
export type FeatureLevel = (typeof FEATURE_LEVELS)[number];
/** Stride of each feature level relative to the image. */
export const FEATURE_STRIDES: Readonly<Record<FeatureLevel, number>> = { c2: 4, c3: 8, c4: 16, c5: 32 };

/** Channel count of each feature level; what a head needs to know about the encoder it sits on. */
export type FeatureChannels = Record<FeatureLevel, number>;

/**
 * One trainable function F_theta(X) -> Y: the unit the paper draws as a box.
 *
 * `apply` works on eager tensors (training and inference) and on symbolic tensors (building one multi-output
 * graph from several blocks). `config` is the resolved JSON config: enough to rebuild the block with
 * {@link deserializeBlock}.
 */
export interface Block<X, Y, C> {
  /** Stable registry name, e.g. `head-seg/SegHead`. */
  readonly className: string;
  /** Resolved zod output, JSON only. */
  readonly config: C;
  /** F_theta(X). */
  apply(x: X, opts?: ApplyOptions): Y;
  /** theta: the variables an optimizer updates (empty while frozen). */
  readonly trainableWeights: tf.LayerVariable[];
  /** All variables, the non-trainable BatchNorm statistics included (what is saved). */
  readonly weights: tf.LayerVariable[];
  /** Freeze (false) or unfreeze (true): the grey boxes of the paper. */
  trainable: boolean;
  /** Number of scalar parameters, trainable or not. */
  countParams(): number;
  /** Frees every variable of the block. */
  dispose(): void;
}

/**
 * A task head over the encoder features: a block plus its loss and the decoding of its raw outputs into
 * plain predictions.
 *
 * @typeParam Y raw output tensors, @typeParam T training target tensors, @typeParam P decoded prediction.
 */
export interface Head<Y, T, P, C> extends Block<EncoderFeatures, Y, C> {
  /** Task name: `cls`, `det`, `seg` or a user task. */
  readonly task: string;
  /** Raw outputs Y of eager features; for symbolic features, the symbolic outputs of a larger graph. */
  apply(features: EncoderFeatures, opts?: ApplyOptions): Y;
  apply(features: EncoderFeatures<tf.SymbolicTensor>, opts?: ApplyOptions): tf.SymbolicTensor;
  /**
   * The task loss, a scalar. `mask` ([B] of 0/1, optional) switches samples off: a sample whose label is missing
   * for this task adds no loss (the paper's -1 labels).
   */
  loss(target: T, output: Y, mask?: tf.Tensor1D): tf.Scalar;
  /** Raw outputs -> one plain prediction per image (no tensors). Does not dispose `output`. */
  decode(output: Y): P[];
}
