import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { trainTinySeg } from './train-tiny';

// The same training run on the reference cpu backend: checks the training logic independently of the wasm
// training kernels (train-wasm.test.ts runs it on the project's Node backend).
beforeAll(async () => {
  await initBackend('cpu');
});

describe('CheXSeg training on cpu', () => {
  it('a few Adam steps on a tiny synthetic problem lower the loss', () => {
    expect(tf.getBackend()).toBe('cpu');
    const { losses, leaked } = trainTinySeg();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.7 * losses[0]!);
    expect(leaked).toBe(0);
  });
});
