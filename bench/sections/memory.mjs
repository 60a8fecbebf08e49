// Memory over a long run of the probe net on the wasm backend: live tensors, backend buffers, wasm heap and peak
// RSS before and after 200 training steps. Target: no tensor growth. (The preset model's memory is reported by
// the multichexnet-preset section.)
import { probeTrainer } from '../lib/probe-net.mjs';

export const name = 'memory';
export const description = 'probe net (128 px, batch 16): tensors, buffers, heap and peak RSS over 200 training steps';
export const packages = ['core'];

function snapshot(core, step) {
  const { tf } = core;
  const m = tf.memory();
  const backend = tf.backend();
  const heap = backend.wasm?.HEAPU8?.buffer?.byteLength;
  return {
    step,
    numTensors: m.numTensors,
    numDataBuffers: m.numDataBuffers,
    numBytesMB: m.numBytes / 2 ** 20,
    backendBuffers: backend.numDataIds(),
    wasmHeapMB: heap === undefined ? null : heap / 2 ** 20,
    rssMB: process.memoryUsage().rss / 2 ** 20,
  };
}

export async function run(ctx) {
  const core = await ctx.importPackage('core');
  const info = await core.initBackend('wasm');
  const steps = ctx.quick ? 30 : 200;
  const checkpoints = new Set([1, 10, Math.floor(steps / 4), Math.floor(steps / 2), steps]);
  const before = snapshot(core, 0);
  const trainer = probeTrainer(core, { size: 128 });
  const samples = [];
  const t0 = performance.now();
  let loss = NaN;
  for (let s = 1; s <= steps; s++) {
    loss = trainer.step();
    if (checkpoints.has(s)) {
      samples.push(snapshot(core, s));
      ctx.log(`step ${s}: ${samples.at(-1).numTensors} tensors, rss ${samples.at(-1).rssMB.toFixed(0)} MB`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const first = samples[0];
  const last = samples.at(-1);
  trainer.dispose();
  const after = snapshot(core, steps);
  return {
    backend: { name: info.name, threads: info.threads },
    steps,
    secondsPerStep: seconds / steps,
    lastLoss: loss,
    beforeModel: before,
    samples,
    afterDispose: after,
    // Growth between the first and the last step: what a long training run would accumulate.
    tensorGrowth: last.numTensors - first.numTensors,
    bufferGrowth: last.backendBuffers - first.backendBuffers,
    rssGrowthMB: last.rssMB - first.rssMB,
    leakedAfterDispose: after.numTensors - before.numTensors,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    meetsTarget: last.numTensors === first.numTensors,
  };
}
