import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { adamSteps, disposeFeatures, randomFeatures, SMALL_FEATURE_CHANNELS } from '@multichexnet/core/testing';
import { boxesToMask, createSegHead, encodeSegTargets } from '../src/index';

// The reference cpu backend checks the training logic independently of the wasm training kernels; wasm is the
// project's Node backend (its gradient kernels, Conv2DBackpropFilter, ..., come from packages/core).
describe.each(['cpu', 'wasm'] as const)('CheXSeg training on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('25 Adam steps on fixed features and masks (4 images, one empty) lower the loss and leak nothing', () => {
    expect(tf.getBackend()).toBe(backend);
    const head = createSegHead({ featureChannels: SMALL_FEATURE_CHANNELS, decoderChannels: 8, seed: 5 });
    const features = randomFeatures(4, 32, 41);
    const masks = [
      boxesToMask([{ x: 4, y: 4, width: 10, height: 14 }], 32, 32),
      boxesToMask([], 32, 32),
      boxesToMask([{ x: 18, y: 10, width: 9, height: 16 }], 32, 32),
      boxesToMask(
        [
          { x: 2, y: 20, width: 12, height: 8 },
          { x: 20, y: 2, width: 8, height: 8 },
        ],
        32,
        32,
      ),
    ];
    const target = encodeSegTargets(masks);
    const { losses, leaked } = adamSteps({
      steps: 25,
      varList: head.trainableWeights.map((w) => w.read() as tf.Variable),
      loss: () => head.loss(target, head.apply(features, { training: true })),
    });
    target.dispose();
    disposeFeatures(features);
    head.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.7 * losses[0]!);
    expect(leaked).toBe(0);
  });
});
