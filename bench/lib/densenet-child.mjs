// Child process of the densenet121 section: DenseNet-121 training steps in a fresh process (its own wasm heap,
// so a batch that does not fit cannot disturb the next one). argv: <repoRoot> <size> <batch> <warmup> <steps>
// [backend] [preset]. Prints one JSON line: wall and CPU time per step, peak tensor bytes, or the heap error.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { densenetTrainer, densenetStepGflop } from './densenet.mjs';
import { median, timeSteps } from './time-steps.mjs';

const [repoRoot, size, batch, warmup, steps, backendName = 'wasm', preset = 'densenet121'] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(repoRoot, 'packages', p, 'dist', 'index.js')).href);
const core = await load('core');
const encoderPkg = await load('core-encoder');
const info = await core.initBackend(backendName);
const out = {
  backend: info.name,
  threads: info.threads,
  preset,
  size: Number(size),
  batch: Number(batch),
  loadBefore: loadavg()[0],
};
let trainer = null;
try {
  trainer = densenetTrainer(core, encoderPkg, { size: Number(size), batch: Number(batch), preset });
  core.wasmHeapStats?.({ resetPeak: true }); // (absent in a baseline build from before issue 22)
  const { wall, cpu } = timeSteps(trainer, Number(warmup), Number(steps));
  const heap = core.wasmHeapStats?.() ?? null;
  const gflop = preset === 'densenet121' ? densenetStepGflop(Number(size), Number(batch)) : null;
  Object.assign(out, {
    medianMs: median(wall),
    cpuMedianMs: median(cpu),
    imagesPerSecond: (Number(batch) * 1000) / median(wall),
    gflopPerStep: gflop,
    gflops: gflop === null ? null : (gflop / median(wall)) * 1000,
    samples: wall,
    cpuSamples: cpu,
    peakTensorMiB: heap === null ? null : heap.peakBytes / 2 ** 20,
    heapMiB: heap === null ? null : heap.heapBytes / 2 ** 20,
  });
} catch (e) {
  out.error = String(e?.message ?? e)
    .split('\n')
    .slice(0, 3)
    .join(' ');
  if (e?.fittingBatchSize !== undefined) out.fittingBatchSize = e.fittingBatchSize;
} finally {
  trainer?.dispose();
}
out.loadAfter = loadavg()[0];
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
