import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { trainTinyDet } from './train-tiny';

// Training runs on the project's Node backend (wasm with the core training kernels). This test needs the
// gradient kernels (Conv2DBackpropFilter, ...) that packages/core registers for wasm.
beforeAll(async () => {
  await initBackend('wasm');
});

describe('CheXDet training on wasm', () => {
  it('a few Adam steps on a tiny synthetic problem lower the loss', () => {
    expect(tf.getBackend()).toBe('wasm');
    const { losses, leaked } = trainTinyDet();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
    expect(leaked).toBe(0);
  });
});
