/**
 * Training-step time of each encoder preset on tfjs wasm (with core's training kernels) next to the same network
 * in PyTorch CPU measured in the same invocation, as TRAINING-SPEED.md asks: absolute times vary with the machine
 * and its load, the ratio much less. Prints one JSON line per preset and a markdown table.
 *
 *   cd packages/core-encoder && npx vitest run --config bench/vitest.config.ts
 *   BENCH_PRESETS=densenet-tiny BENCH_STEPS=5 npx vitest run --config bench/vitest.config.ts
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { createRng, initBackend, tf } from '@multichexnet/core';
import { ENCODER_PRESETS, createEncoder, type EncoderPreset } from '../src/index';

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_step.py', import.meta.url));

/** Input size and batch per preset: the sizes each preset is meant for (DenseNet-121 at a batch this machine holds). */
const SETTINGS: Record<EncoderPreset, { size: number; batch: number }> = {
  'densenet-tiny': { size: 128, batch: 16 },
  'densenet-small': { size: 256, batch: 16 },
  densenet121: { size: 256, batch: 2 },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

it('times one training step per preset', async () => {
  const info = await initBackend('wasm');
  const presets = (process.env.BENCH_PRESETS?.split(',') ?? [...ENCODER_PRESETS]) as EncoderPreset[];
  const steps = Number(process.env.BENCH_STEPS ?? 3);
  const rows: string[] = [];
  for (const preset of presets) {
    const { size, batch } = SETTINGS[preset];
    const encoder = createEncoder({ preset, seed: 1 });
    const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [encoder.featureChannels.c5], units: 14 })] });
    const optimizer = tf.train.adam(1e-3);
    const rng = createRng(preset);
    const x = tf.tensor4d(
      Float32Array.from({ length: batch * size * size }, () => rng.normal()),
      [batch, size, size, 1],
    );
    const y = tf.tensor2d(
      Float32Array.from({ length: batch * 14 }, () => (rng.bernoulli(0.5) ? 1 : 0)),
      [batch, 14],
    );
    const times: number[] = [];
    for (let s = 0; s <= steps; s++) {
      const t0 = performance.now();
      const loss = optimizer.minimize(() => {
        const logits = head.apply(tf.mean(encoder.apply(x, { training: true }).c5, [1, 2])) as tf.Tensor;
        return tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
      }, true)!;
      await loss.data();
      loss.dispose();
      if (s > 0) times.push(performance.now() - t0);
    }
    const t0 = performance.now();
    const c5 = tf.tidy(() => encoder.apply(x).c5);
    await c5.data();
    const forwardMs = performance.now() - t0;
    c5.dispose();
    const torch = spawnSync(PYTHON, [TORCH_SCRIPT, JSON.stringify([{ config: encoder.config, size, batch, steps }])], {
      encoding: 'utf8',
    });
    const torchMs = torch.status === 0 ? (JSON.parse(torch.stdout.trim()) as { stepMs: number }).stepMs : NaN;
    const wasmMs = median(times);
    const result = {
      preset,
      size,
      batch,
      backend: info.name,
      threads: info.threads,
      wasmStepMs: Math.round(wasmMs),
      wasmForwardMs: Math.round(forwardMs),
      torchStepMs: Math.round(torchMs),
      ratio: +(wasmMs / torchMs).toFixed(2),
    };
    console.log(JSON.stringify(result));
    rows.push(
      `| \`${preset}\` | ${size} | ${batch} | ${result.wasmStepMs} | ${result.wasmForwardMs} | ${result.torchStepMs} | ${result.ratio} |`,
    );
    for (const t of [x, y]) t.dispose();
    optimizer.dispose();
    head.dispose();
    encoder.dispose();
  }
  console.log(
    [
      '| preset | px | batch | wasm step ms | wasm forward ms | PyTorch step ms | ratio |',
      '|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n'),
  );
});
