import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_LEVELS, createRng, initBackend, tf } from '@multichexnet/core';
import { createEncoder } from '../src/index';

// Debian's interpreter has python3-torch; the `python3` on PATH may not.
const PYTHON = '/usr/bin/python3';
const TWIN = fileURLToPath(new URL('./fixtures/densenet_twin.py', import.meta.url));
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const hasTorch = torchCheck.status === 0;
if (!hasTorch) {
  console.warn(`torch parity test skipped: ${PYTHON} cannot import torch (apt-get install python3-torch to run it)`);
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe.skipIf(!hasTorch)('parity with a PyTorch (torchvision-layout) DenseNet', () => {
  for (const [label, cfg] of [
    ['densenet-tiny', { preset: 'densenet-tiny', seed: 3 }],
    [
      'no bottleneck, compression 0.7, odd growth',
      { preset: 'densenet-tiny', bottleneckWidth: 0, compression: 0.7, growthRate: 5, seed: 4 },
    ],
  ] as const) {
    it(`gives the same c2..c5 as torch in inference mode (${label})`, async () => {
      const enc = createEncoder(cfg);
      // Non-trivial BatchNorm statistics and affine parameters, so epsilon and the statistics' roles are tested.
      const rng = createRng(`stats-${label}`);
      const weights: Record<string, { shape: number[]; data: number[] }> = {};
      for (const { name, variable } of enc.namedWeights()) {
        const draw = /moving_variance$/.test(name)
          ? () => rng.uniform(0.2, 2)
          : /(moving_mean|gamma|beta)$/.test(name)
            ? () => rng.normal(0, 0.5)
            : null;
        if (draw !== null) {
          const size = (variable.shape as number[]).reduce((a, b) => a * b, 1);
          const t = tf.tensor(Float32Array.from({ length: size }, draw), variable.shape as number[]);
          variable.write(t);
          t.dispose();
        }
        weights[name] = { shape: variable.shape as number[], data: Array.from(variable.read().dataSync()) };
      }
      const shape: [number, number, number, number] = [2, 64, 96, 1];
      const pixels = Float32Array.from({ length: 2 * 64 * 96 }, () => rng.normal());
      const x = tf.tensor4d(pixels, shape);
      const ours = tf.tidy(() => enc.apply(x));
      const res = spawnSync(PYTHON, [TWIN], {
        input: JSON.stringify({ config: enc.config, weights, input: { shape, data: Array.from(pixels) } }),
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      expect(res.status, res.stderr).toBe(0);
      const theirs = JSON.parse(res.stdout) as Record<string, { shape: number[]; data: number[] }>;
      for (const level of FEATURE_LEVELS) {
        expect(ours[level].shape, level).toEqual(theirs[level]!.shape);
        const a = await ours[level].data();
        const b = theirs[level]!.data;
        let worst = 0;
        for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
        expect(worst, level).toBeLessThan(1e-4);
        ours[level].dispose();
      }
      x.dispose();
      enc.dispose();
    });
  }
});
