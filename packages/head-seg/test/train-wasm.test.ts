import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { trainTinySeg } from './train-tiny';

// Training runs on the project's Node backend (wasm with the core training kernels); this needs the gradient
// kernels (Conv2DBackpropFilter, ...) that packages/core registers for wasm.
beforeAll(async () => {
  await initBackend('wasm');
});

describe('CheXSeg training on wasm', () => {
  it('a few Adam steps on a tiny synthetic problem lower the loss', () => {
    expect(tf.getBackend()).toBe('wasm');
    const { losses, leaked } = trainTinySeg();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.7 * losses[0]!);
    expect(leaked).toBe(0);
  });
});
