#!/usr/bin/env node
// Per-kernel time of one probe-net training step on the wasm backend (a developer tool, not a bench section):
//   node bench/tools/profile-probe.mjs [--size 128] [--norm core|core-unfused|stock] [--steps 3] [--threads N] [--cpu]
// Kernel times come from wrapping every registered wasm kernel function with a timer, so nested kernel calls
// (our kernels call Transpose and Conv2D internally) are counted once, at the outermost level.
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { probeTrainer } from '../lib/probe-net.mjs';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const size = Number(opt('size', '128'));
const norm = opt('norm', 'core');
const steps = Number(opt('steps', '3'));
// --cpu: process CPU time instead of wall time (robust on a busy machine; meaningful with --threads 1).
const useCpu = args.includes('--cpu');
const threads = opt('threads', undefined);
const clock = () => (useCpu ? (() => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; })() : performance.now());

const core = await import(pathToFileURL(join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const { tf } = core;
const info = await core.initBackend('wasm', threads === undefined ? {} : { threads: Number(threads) });

const totals = new Map();
let depth = 0;
const kernels = tf.getKernelsForBackend('wasm');
for (const k of kernels) {
  const inner = k.kernelFunc;
  const wrapped = (a) => {
    if (depth > 0) return inner(a);
    depth++;
    const t0 = clock();
    try {
      return inner(a);
    } finally {
      depth--;
      const dt = clock() - t0;
      const key = k.kernelName;
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += dt;
      e.calls++;
      totals.set(key, e);
    }
  };
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({ ...k, kernelFunc: wrapped });
}

const trainer = probeTrainer(core, { size, norm });
trainer.step();
trainer.step();
totals.clear();
const t0 = clock();
for (let i = 0; i < steps; i++) trainer.step();
const stepMs = (clock() - t0) / steps;
trainer.dispose();
const rows = [...totals.entries()].map(([k, v]) => [k, v.ms / steps, v.calls / steps]).sort((a, b) => b[1] - a[1]);
const kernelMs = rows.reduce((a, r) => a + r[1], 0);
process.stdout.write(`probe net ${size} px, norm=${norm}, threads=${info.threads}: ${stepMs.toFixed(1)} ms/step, kernels ${kernelMs.toFixed(1)} ms, other (JS/engine) ${(stepMs - kernelMs).toFixed(1)} ms\n`);
for (const [k, ms, calls] of rows) {
  if (ms < 0.05) continue;
  process.stdout.write(`  ${k.padEnd(28)} ${ms.toFixed(2).padStart(9)} ms  ${String(calls).padStart(4)} calls\n`);
}
