import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, initBackend, tf } from '@multichexnet/core';
import { adamSteps } from '@multichexnet/core/testing';
import { createEncoder } from '../src/index';

// Acceptance test of issue #2: the encoder trains on the wasm backend in Node (its gradient kernels come from core's
// initBackend) without leaking tensors from one step to the next; the cpu backend is the reference.
describe.each(['cpu', 'wasm'] as const)('training densenet-tiny on %s', (backend) => {
  beforeAll(async () => {
    expect((await initBackend(backend)).name).toBe(backend);
  });

  it('lowers the loss over 3 steps and holds the tensor count constant from step 1 to step 3', () => {
    expect(tf.getBackend()).toBe(backend);
    const encoder = createEncoder({ preset: 'densenet-tiny', seed: 7 });
    // A model (built at once) rather than a bare layer: a layer built lazily inside step 1 would enter the
    // optimizer's variable list only at step 2.
    const head = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [encoder.featureChannels.c5],
          units: 14,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
        }),
      ],
    });
    const rng = createRng('train-wasm');
    const batch = 8;
    const x = tf.tensor4d(
      Float32Array.from({ length: batch * 64 * 64 }, () => rng.normal()),
      [batch, 64, 64, 1],
    );
    const y = tf.tensor2d(
      Float32Array.from({ length: batch * 14 }, () => (rng.bernoulli(0.3) ? 1 : 0)),
      [batch, 14],
    );
    const { losses, leaked } = adamSteps({
      steps: 3,
      loss: () => {
        const { c5 } = encoder.apply(x, { training: true });
        const logits = head.apply(tf.mean(c5, [1, 2])) as tf.Tensor2D;
        return tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
      },
    });
    for (const t of [x, y]) t.dispose();
    head.dispose();
    encoder.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[1]!).toBeLessThan(losses[0]!);
    expect(losses[2]!).toBeLessThan(losses[1]!);
    expect(leaked).toBe(0);
  });
});
