/** The DenseNet hyper-parameters a preset fixes; every one can be overridden field by field. */
export interface DenseNetArchitecture {
  /** Channels of the stem convolution (7x7, stride 2). */
  initFeatures: number;
  /** Channels each dense layer adds (k in the DenseNet paper). */
  growthRate: number;
  /** Dense layers in each of the four dense blocks (strides 4, 8, 16, 32). */
  blockLayers: [number, number, number, number];
  /**
   * Width multiplier of the 1x1 bottleneck conv (bottleneck channels = bottleneckWidth x growthRate); 0 = no
   * bottleneck.
   */
  bottleneckWidth: number;
  /** Channel factor of each transition (theta in the DenseNet paper): out = floor(in x compression). */
  compression: number;
  /** Dropout after every dense layer's 3x3 conv, during training only. */
  dropRate: number;
}

/** Names of the encoder presets. */
export const ENCODER_PRESETS = ['densenet121', 'densenet-small', 'densenet-tiny'] as const;
/** One of {@link ENCODER_PRESETS}. */
export type EncoderPreset = (typeof ENCODER_PRESETS)[number];

/**
 * The preset table.
 *
 * - `densenet121`: the CheXNet trunk (DenseNet-BC-121 as CheXNet and the MultiCheXNet authors used it at 256 px).
 *   Trains memory-efficiently by default (see `memoryEfficient` in the config); for fidelity and ported weights.
 * - `densenet-small`: the project default for training at 256 px on a CPU.
 * - `densenet-tiny`: for tests and the quickstart at 128 px.
 *
 * The compact presets keep the stem narrow: on wasm the stride-2 stem (7x7 conv whose input gradient tfjs computes
 * even for the image, BatchNorm, max pool) dominates a training step, so its width buys the most time. Measured
 * step times are in the README (bench/step-time.bench-test.ts).
 */
export const PRESETS: Readonly<Record<EncoderPreset, Readonly<DenseNetArchitecture>>> = {
  densenet121: {
    initFeatures: 64,
    growthRate: 32,
    blockLayers: [6, 12, 24, 16],
    bottleneckWidth: 4,
    compression: 0.5,
    dropRate: 0,
  },
  'densenet-small': {
    initFeatures: 16,
    growthRate: 16,
    blockLayers: [2, 4, 8, 6],
    bottleneckWidth: 4,
    compression: 0.5,
    dropRate: 0,
  },
  'densenet-tiny': {
    initFeatures: 8,
    growthRate: 8,
    blockLayers: [2, 2, 2, 2],
    bottleneckWidth: 2,
    compression: 0.5,
    dropRate: 0,
  },
};
