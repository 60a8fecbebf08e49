#!/usr/bin/env node
// Per-kernel time of one DenseNet-121 training step (CheXEnc densenet121 + global average pool + dense 14 + BCE,
// Adam) on wasm:
//   node bench/tools/profile-densenet.mjs [--size 224] [--batch 4] [--steps 2] [--threads N] [--cpu] [--by-shape]
// --cpu: process CPU time instead of wall time (robust on a busy machine; meaningful with --threads 1).
import { performance } from 'node:perf_hooks';
import { importBuilt, kernelRows, timeKernels, toolArgs } from '../lib/tool-setup.mjs';
import { densenetTrainer } from '../lib/densenet.mjs';

const { opt, has } = toolArgs();
const size = Number(opt('size', '224'));
const batch = Number(opt('batch', '4'));
const steps = Number(opt('steps', '2'));
const threads = opt('threads', undefined);
const byShape = has('by-shape');
const useCpu = has('cpu');
const clock = () =>
  useCpu
    ? (() => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      })()
    : performance.now();

const core = await importBuilt('core');
const encoderPkg = await importBuilt('core-encoder');
const { tf } = core;
const info = await core.initBackend('wasm', threads === undefined ? {} : { threads: Number(threads) });
const keyOf = (k, a) =>
  byShape && /^(Conv2DBackprop|FusedConv2D|Conv2D$|MCXBatchNorm|Concat|SplitV|Slice|AvgPool)/.test(k.kernelName)
    ? `${k.kernelName} ${JSON.stringify(
        Object.values(a.inputs)
          .filter(Boolean)
          .map((t) => t.shape),
      )}`
    : k.kernelName;
const totals = timeKernels(tf, { clock, keyOf });
const trainer = densenetTrainer(core, encoderPkg, { size, batch });
trainer.step();
totals.clear();
const t0 = clock();
for (let i = 0; i < steps; i++) trainer.step();
const stepMs = (clock() - t0) / steps;
trainer.dispose();
const { rows, kernelMs } = kernelRows(totals, steps);
const gflop = 21.6 * (size / 256) ** 2 * batch;
process.stdout.write(
  `DenseNet-121 ${batch} x ${size} px, threads=${info.threads}, ${useCpu ? 'CPU' : 'wall'} time: ${stepMs.toFixed(0)} ms/step (${((gflop / stepMs) * 1000).toFixed(1)} GFLOP/s), kernels ${kernelMs.toFixed(0)} ms, other ${(stepMs - kernelMs).toFixed(0)} ms\n`,
);
for (const [k, ms, calls] of rows)
  if (ms >= (byShape ? 15 : 0.5))
    process.stdout.write(
      `  ${k.padEnd(byShape ? 60 : 28)} ${ms.toFixed(1).padStart(8)} ms  ${String(calls).padStart(5)} calls  ${((100 * ms) / stepMs).toFixed(1).padStart(5)}%\n`,
    );
