import { createRng, tf, type EncoderFeatures, type FeatureChannels } from '@multichexnet/core';

export const CHANNELS: FeatureChannels = { c2: 4, c3: 6, c4: 8, c5: 12 };

/** Random encoder features for an image of `size` px (strides 4..32), seeded. */
export function randomFeatures(batch: number, size: number, seed: number, channels: FeatureChannels = CHANNELS): EncoderFeatures {
  const rng = createRng(seed);
  const make = (stride: number, c: number): tf.Tensor4D => {
    const s = size / stride;
    const values = Float32Array.from({ length: batch * s * s * c }, () => rng.normal());
    return tf.tensor4d(values, [batch, s, s, c]);
  };
  return { c2: make(4, channels.c2), c3: make(8, channels.c3), c4: make(16, channels.c4), c5: make(32, channels.c5) };
}

export function disposeFeatures(f: EncoderFeatures): void {
  tf.dispose([f.c2, f.c3, f.c4, f.c5]);
}

/** Seeded normal tensor. */
export function randomTensor(shape: number[], seed: number, std = 1): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal(0, std)), shape);
}

/**
 * Central finite differences of a scalar function of one tensor, every entry, compared with the analytic gradient.
 * Returns the largest |analytic - numeric| / (1 + |numeric|).
 */
export function maxGradError(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-2): number {
  const analytic = tf.tidy(() => tf.grad(f)(x));
  const a = analytic.dataSync();
  const base = x.dataSync().slice();
  let worst = 0;
  for (let i = 0; i < base.length; i++) {
    const plus = base.slice();
    plus[i]! += eps;
    const minus = base.slice();
    minus[i]! -= eps;
    const fp = tf.tidy(() => f(tf.tensor(plus, x.shape)).dataSync()[0]!);
    const fm = tf.tidy(() => f(tf.tensor(minus, x.shape)).dataSync()[0]!);
    const numeric = (fp - fm) / (2 * eps);
    worst = Math.max(worst, Math.abs(a[i]! - numeric) / (1 + Math.abs(numeric)));
  }
  analytic.dispose();
  return worst;
}
