import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf, type Box } from '@multichexnet/core';
import { adamSteps, disposeFeatures, randomFeatures, SMALL_FEATURE_CHANNELS } from '@multichexnet/core/testing';
import { createDetHead, disposeDetTargets } from '../src/index';

// The same training run on the reference cpu backend (the training logic alone) and on the project's Node backend,
// wasm, whose gradient kernels (Conv2DBackpropFilter, ...) packages/core registers.
describe.each(['cpu', 'wasm'] as const)('CheXDet training on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('25 Adam steps on fixed features and boxes (4 images to memorise) lower the loss and leak nothing', () => {
    expect(tf.getBackend()).toBe(backend);
    const head = createDetHead({
      featureChannels: SMALL_FEATURE_CHANNELS,
      hiddenChannels: 16,
      hiddenLayers: 1,
      seed: 5,
    });
    const features = randomFeatures(4, 64, 31);
    const boxes: Box[][] = [
      [{ x: 4, y: 4, width: 20, height: 26 }],
      [],
      [{ x: 36, y: 30, width: 18, height: 28 }],
      [{ x: 10, y: 34, width: 26, height: 24 }],
    ];
    const targets = head.encodeTargets(boxes, 64);
    const { losses, leaked } = adamSteps({
      steps: 25,
      varList: head.trainableWeights.map((w) => w.read() as tf.Variable),
      loss: () => head.loss(targets, head.apply(features, { training: true })),
    });
    disposeDetTargets(targets);
    disposeFeatures(features);
    head.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
    expect(leaked).toBe(0);
  });
});
