// Child of the densenet121 section: where the time of one DenseNet-121 training step goes, per wasm kernel
// (outermost calls only), on one thread in process CPU time. argv: <repoRoot> <size> <batch>. One JSON line.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { densenetTrainer } from './densenet.mjs';
import { kernelRows, timeKernels } from './tool-setup.mjs';

const [repoRoot, size, batch] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(repoRoot, 'packages', p, 'dist', 'index.js')).href);
const core = await load('core');
const encoderPkg = await load('core-encoder');
const info = await core.initBackend('wasm', { threads: 1 });
const clock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const totals = timeKernels(core.tf, { clock });
const trainer = densenetTrainer(core, encoderPkg, { size: Number(size), batch: Number(batch) });
trainer.step();
totals.clear();
const t0 = clock();
trainer.step();
const stepMs = clock() - t0;
trainer.dispose();
const { rows, kernelMs } = kernelRows(totals, 1);
// What one thread can move here: a 256 MiB copy (native memmove), read + write bytes per second.
const buf = new Float32Array(2 ** 26);
buf.fill(1);
let copyMs = Infinity;
for (let i = 0; i < 3; i++) {
  const c0 = clock();
  buf.copyWithin(0, 2 ** 25);
  copyMs = Math.min(copyMs, clock() - c0);
}
const copyGBps = (2 * 2 ** 27) / copyMs / 1e6;
process.stdout.write(
  `${JSON.stringify({
    batch: Number(batch),
    size: Number(size),
    threads: info.threads,
    clock: 'process CPU time',
    stepMs,
    kernelMs,
    otherMs: stepMs - kernelMs,
    // GB/s: the bytes of each call's inputs and outputs over its time (a lower bound of the traffic), beside the copy
    // bandwidth of one thread: for memory-bound kernels (BatchNorm, Concat, SplitV, pools, Adam) how near they are.
    copyGBps,
    kernels: rows
      .filter(([, ms]) => ms >= 1)
      .map(([kernel, ms, calls, bytes]) => ({ kernel, ms, calls, share: ms / stepMs, gbPerS: bytes / ms / 1e6 })),
    loadAvg1m: loadavg()[0],
  })}\n`,
);
process.exit(0);
