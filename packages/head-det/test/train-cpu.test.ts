import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { trainTinyDet } from './train-tiny';

// Training runs on the project's Node backend (cpu with the core training kernels). This test needs the
// gradient kernels (Conv2DBackpropFilter, ...) that packages/core registers for cpu.
beforeAll(async () => {
  await initBackend('cpu');
});

describe('CheXDet training on cpu', () => {
  it('a few Adam steps on a tiny synthetic problem lower the loss', () => {
    expect(tf.getBackend()).toBe('cpu');
    const { losses, leaked } = trainTinyDet();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
    expect(leaked).toBe(0);
  });
});
