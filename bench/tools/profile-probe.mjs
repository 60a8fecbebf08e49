#!/usr/bin/env node
// Per-kernel time of one probe-net training step on the wasm backend (a developer tool, not a bench section):
//   node bench/tools/profile-probe.mjs [--size 128] [--norm core|core-unfused|stock] [--steps 3] [--threads N] [--cpu]
// Kernel times come from wrapping every registered wasm kernel function with a timer, so nested kernel calls
// (our kernels call Transpose and Conv2D internally) are counted once, at the outermost level.
import { performance } from 'node:perf_hooks';
import { probeTrainer } from '../lib/probe-net.mjs';
import { importBuilt, kernelRows, timeKernels, toolArgs } from '../lib/tool-setup.mjs';

const { opt, has } = toolArgs();
const size = Number(opt('size', '128'));
const norm = opt('norm', 'core');
const steps = Number(opt('steps', '3'));
// --cpu: process CPU time instead of wall time (robust on a busy machine; meaningful with --threads 1).
const useCpu = has('cpu');
const threads = opt('threads', undefined);
const clock = () =>
  useCpu
    ? (() => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      })()
    : performance.now();

const core = await importBuilt('core');
const { tf } = core;
const info = await core.initBackend('wasm', threads === undefined ? {} : { threads: Number(threads) });
const totals = timeKernels(tf, { clock });

const trainer = probeTrainer(core, { size, norm });
trainer.step();
trainer.step();
totals.clear();
const t0 = clock();
for (let i = 0; i < steps; i++) trainer.step();
const stepMs = (clock() - t0) / steps;
trainer.dispose();
const { rows, kernelMs } = kernelRows(totals, steps);
process.stdout.write(
  `probe net ${size} px, norm=${norm}, threads=${info.threads}: ${stepMs.toFixed(1)} ms/step, kernels ${kernelMs.toFixed(1)} ms, other (JS/engine) ${(stepMs - kernelMs).toFixed(1)} ms\n`,
);
for (const [k, ms, calls] of rows) {
  if (ms < 0.05) continue;
  process.stdout.write(`  ${k.padEnd(28)} ${ms.toFixed(2).padStart(9)} ms  ${String(calls).padStart(4)} calls\n`);
}
