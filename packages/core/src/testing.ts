// `@multichexnet/core/testing`: the test helpers every block package shares (heads, gate, encoder, and a new head
// written outside this repository): seeded stand-ins for encoder features, a finite-difference gradient check and a
// few optimiser steps that report the loss curve and the tensors they leave behind. No test framework is imported:
// the helpers return numbers and the caller's test asserts on them.
import { FEATURE_STRIDES, type EncoderFeatures, type FeatureChannels } from './blocks/block';
import { createRng } from './rng';
import { tf } from './tf';

/** Narrow feature widths for fast head tests (a real encoder has hundreds of channels per level). */
export const SMALL_FEATURE_CHANNELS: Readonly<FeatureChannels> = Object.freeze({ c2: 4, c3: 6, c4: 8, c5: 12 });

export interface RandomFeaturesOptions {
  /** Feature widths per level (default {@link SMALL_FEATURE_CHANNELS}). */
  channels?: FeatureChannels;
  /** Clamp at 0, as post-ReLU features are (default false: standard normal values). */
  nonNegative?: boolean;
}

/**
 * Seeded standard-normal encoder features for `batch` images of `size` px: c2..c5 at strides 4..32, drawn from one
 * RNG stream level by level (c2 first). `size` must be a multiple of 32.
 */
export function randomFeatures(batch: number, size: number, seed: number | string, options: RandomFeaturesOptions = {}): EncoderFeatures {
  const channels = options.channels ?? SMALL_FEATURE_CHANNELS;
  const rng = createRng(seed);
  const draw = options.nonNegative === true ? () => Math.max(0, rng.normal()) : () => rng.normal();
  const make = (level: keyof FeatureChannels): tf.Tensor4D => {
    const s = size / FEATURE_STRIDES[level];
    const c = channels[level];
    return tf.tensor4d(Float32Array.from({ length: batch * s * s * c }, draw), [batch, s, s, c]);
  };
  return { c2: make('c2'), c3: make('c3'), c4: make('c4'), c5: make('c5') };
}

/** Disposes the four tensors of a feature set. */
export function disposeFeatures(features: EncoderFeatures): void {
  tf.dispose([features.c2, features.c3, features.c4, features.c5]);
}

/** A seeded normal tensor of the given shape (mean 0, standard deviation `std`). */
export function randomTensor(shape: number[], seed: number | string, std = 1): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal(0, std)), shape);
}

/**
 * Central finite differences of a scalar function of one tensor, every entry, compared with `tf.grad`. Returns the
 * largest |analytic - numeric| / (1 + |numeric|); leaves no tensor behind.
 */
export function maxGradError(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-2): number {
  const analytic = tf.tidy(() => tf.grad(f)(x));
  const a = analytic.dataSync();
  analytic.dispose();
  const base = x.dataSync().slice();
  const at = (i: number, delta: number): number =>
    tf.tidy(() => {
      const v = base.slice();
      v[i]! += delta;
      return f(tf.tensor(v, x.shape)).dataSync()[0]!;
    });
  let worst = 0;
  for (let i = 0; i < base.length; i++) {
    const numeric = (at(i, eps) - at(i, -eps)) / (2 * eps);
    worst = Math.max(worst, Math.abs(a[i]! - numeric) / (1 + Math.abs(numeric)));
  }
  return worst;
}

export interface AdamStepsOptions {
  /** The scalar loss of one step, built inside the optimiser's gradient tape. */
  loss: () => tf.Scalar;
  steps: number;
  /** Default 0.01. */
  learningRate?: number;
  /** The variables to train (default: every trainable variable). */
  varList?: tf.Variable[];
}

/**
 * `steps` Adam steps on `loss`. Returns the loss of every step and `leaked`: tensors alive after the last step minus
 * those alive after the first (the optimiser creates its slots at step 1, so a leak-free step loop gives 0).
 */
export function adamSteps(options: AdamStepsOptions): { losses: number[]; leaked: number } {
  const optimizer = tf.train.adam(options.learningRate ?? 0.01);
  const losses: number[] = [];
  let afterFirst = 0;
  try {
    for (let step = 0; step < options.steps; step++) {
      const cost = optimizer.minimize(options.loss, true, options.varList)!;
      losses.push(cost.dataSync()[0]!);
      cost.dispose();
      if (step === 0) afterFirst = tf.memory().numTensors;
    }
    return { losses, leaked: tf.memory().numTensors - afterFirst };
  } finally {
    optimizer.dispose();
  }
}
