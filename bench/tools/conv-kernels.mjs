#!/usr/bin/env node
// Times Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter on wasm for the probe-net layer shapes (min of N):
//   node bench/tools/conv-kernels.mjs [--size 128] [--reps 5]
import { performance } from 'node:perf_hooks';
import { importBuilt, toolArgs } from '../lib/tool-setup.mjs';

const { opt } = toolArgs();
const size = Number(opt('size', '128'));
const reps = Number(opt('reps', '5'));
const core = await importBuilt('core');
const { tf } = core;
await core.initBackend('wasm');

function time(fn) {
  let best = Infinity;
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    const dt = performance.now() - t0;
    out.dispose();
    if (i > 0) best = Math.min(best, dt);
  }
  return best;
}

const B = 16;
let s = size;
let total = { fwd: 0, bpi: 0, bpf: 0 };
for (const [ci, co] of [
  [1, 16],
  [16, 32],
  [32, 64],
  [64, 128],
]) {
  const x = tf.randomNormal([B, s, s, ci]);
  const f = tf.randomNormal([3, 3, ci, co]);
  const dy = tf.randomNormal([B, s, s, co]);
  const fwd = time(() => tf.conv2d(x, f, 1, 'same'));
  const bpi = time(() =>
    tf
      .engine()
      .runKernel(
        'Conv2DBackpropInput',
        { dy, filter: f },
        { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', inputShape: x.shape },
      ),
  );
  const bpf = time(() =>
    tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: f.shape },
      ),
  );
  const gflop = (2 * B * s * s * 9 * ci * co) / 1e9;
  console.log(
    `${s}x${s} ${ci}->${co}: fwd ${fwd.toFixed(1)} ms (${((gflop / fwd) * 1e3).toFixed(1)} GFLOP/s)  bpi ${bpi.toFixed(1)} ms  bpf ${bpf.toFixed(1)} ms (${((gflop / bpf) * 1e3).toFixed(1)} GFLOP/s)`,
  );
  total.fwd += fwd;
  total.bpi += bpi;
  total.bpf += bpf;
  tf.dispose([x, f, dy]);
  s /= 2;
}
console.log(`total: fwd ${total.fwd.toFixed(1)}  bpi ${total.bpi.toFixed(1)}  bpf ${total.bpf.toFixed(1)} ms`);
