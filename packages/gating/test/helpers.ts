import { createRng, tf, type EncoderFeatures, type FeatureChannels } from '@multichexnet/core';

export const CHANNELS: FeatureChannels = { c2: 4, c3: 6, c4: 8, c5: 12 };

/** Seeded normal features for images of `size` px (strides 4..32). */
export function randomFeatures(batch: number, size: number, seed: number, channels: FeatureChannels = CHANNELS): EncoderFeatures {
  const rng = createRng(seed);
  const make = (stride: number, c: number): tf.Tensor4D => {
    const s = size / stride;
    return tf.tensor4d(Float32Array.from({ length: batch * s * s * c }, () => rng.normal()), [batch, s, s, c]);
  };
  return { c2: make(4, channels.c2), c3: make(8, channels.c3), c4: make(16, channels.c4), c5: make(32, channels.c5) };
}

export function disposeFeatures(f: EncoderFeatures): void {
  tf.dispose([f.c2, f.c3, f.c4, f.c5]);
}

/**
 * Central finite differences of a scalar function of one tensor, compared entry by entry with tf.grad; returns the
 * largest |analytic - numeric| / (1 + |numeric|).
 */
export function maxGradError(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-2): number {
  const analytic = tf.tidy(() => tf.grad(f)(x));
  const a = analytic.dataSync();
  const base = x.dataSync().slice();
  let worst = 0;
  for (let i = 0; i < base.length; i++) {
    const at = (delta: number): number =>
      tf.tidy(() => {
        const v = base.slice();
        v[i]! += delta;
        return f(tf.tensor(v, x.shape)).dataSync()[0]!;
      });
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    worst = Math.max(worst, Math.abs(a[i]! - numeric) / (1 + Math.abs(numeric)));
  }
  analytic.dispose();
  return worst;
}

/**
 * A small real encoder (strided convs + ReLU) producing c2..c5 at strides 4..32, with a call counter: what the
 * encoder-cache tests measure. Gating may import only core, so CheXEnc itself is not used here.
 */
export function countingEncoder(channels: FeatureChannels = CHANNELS, seed = 1): {
  apply(x: tf.Tensor4D, opts?: { training?: boolean }): EncoderFeatures;
  calls: number;
  model: tf.LayersModel;
} {
  const input = tf.input({ shape: [null, null, 1] });
  let x = input;
  const outs: tf.SymbolicTensor[] = [];
  const widths = [channels.c2, channels.c3, channels.c4, channels.c5];
  for (let level = 0; level < 5; level++) {
    const filters = level === 0 ? 4 : widths[level - 1]!;
    x = tf.layers
      .conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + level }) })
      .apply(x) as tf.SymbolicTensor;
    if (level >= 1) outs.push(x);
  }
  const model = tf.model({ inputs: input, outputs: outs });
  const enc = {
    calls: 0,
    model,
    apply(images: tf.Tensor4D, opts?: { training?: boolean }): EncoderFeatures {
      enc.calls++;
      const [c2, c3, c4, c5] = model.apply(images, { training: opts?.training ?? false }) as tf.Tensor4D[];
      return { c2: c2!, c3: c3!, c4: c4!, c5: c5! };
    },
  };
  return enc;
}
