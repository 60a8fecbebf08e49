// What each lever of the wasm training backend is worth on the probe net: the step time with everything on, and
// with one lever taken away at a time (stock kernel put back, env switch, or tfjs's own BatchNormalization).
// Variants are interleaved round by round, so a busy shared CPU slows them alike; the threads lever runs in a
// child process (the thread count is fixed when the backend starts).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { probeTrainer } from '../lib/probe-net.mjs';

export const name = 'probe-levers';
export const description = 'probe net at 128 px: step time with all levers, and with each lever removed (ablation)';
export const packages = ['core'];

const BN_KERNELS = ['MCXBatchNormTraining', 'MCXBatchNormTrainingGrad'];
const VARIANTS = [
  { lever: 'all levers', norm: 'core' },
  { lever: 'BatchNorm layer with hand-written gradient (vs tfjs BatchNormalization + ReLU layer)', norm: 'stock' },
  { lever: 'SIMD BatchNorm kernels (vs the same gradient in plain tf ops)', norm: 'core', exclude: BN_KERNELS },
  { lever: 'Conv2DBackpropInput on XNNPACK (vs stock scalar kernel)', norm: 'core', exclude: ['Conv2DBackpropInput'] },
  { lever: 'Conv2DBackpropFilter as im2col GEMM (vs swapped-axes XNNPACK conv)', norm: 'core', env: { MULTICHEXNET_BPF: 'swap' } },
  { lever: 'direct SIMD kernels for the 1-channel first layer (vs XNNPACK)', norm: 'core', env: { MULTICHEXNET_CONV1CH: '0' } },
  { lever: 'deferred input gradient: the image gradient of the first layer is never computed', norm: 'core', env: { MULTICHEXNET_DEFER: '0' } },
  { lever: 'MaxPoolGrad replacement (vs stock)', norm: 'core', exclude: ['MaxPoolGrad'] },
  { lever: 'Identity without a copy (vs stock)', norm: 'core', exclude: ['Identity'] },
  { lever: 'Cast without a copy (vs stock)', norm: 'core', exclude: ['Cast'] },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

export async function run(ctx) {
  const core = await ctx.importPackage('core');
  const info = await core.initBackend('wasm');
  const size = 128;
  const rounds = ctx.quick ? 3 : 9;
  const trainers = { core: probeTrainer(core, { size, norm: 'core' }), stock: probeTrainer(core, { size, norm: 'stock' }) };
  const times = VARIANTS.map(() => []);
  const apply = (v) => {
    core.registerWasmTrainingKernels({ exclude: v.exclude ?? [] });
    for (const key of ['MULTICHEXNET_BPF', 'MULTICHEXNET_CONV1CH', 'MULTICHEXNET_DEFER']) delete process.env[key];
    Object.assign(process.env, v.env ?? {});
  };
  for (let r = -1; r < rounds; r++) {
    VARIANTS.forEach((v, i) => {
      apply(v);
      const t0 = performance.now();
      trainers[v.norm].step();
      if (r >= 0) times[i].push(performance.now() - t0);
    });
  }
  apply(VARIANTS[0]);
  trainers.core.dispose();
  trainers.stock.dispose();
  const all = median(times[0]);
  const levers = VARIANTS.map((v, i) => ({
    lever: v.lever,
    withoutMs: i === 0 ? null : median(times[i]),
    withMs: all,
    savesMs: i === 0 ? null : median(times[i]) - all,
    samples: times[i],
  }));
  // Threads: the same step in a fresh process with one thread.
  let threads = null;
  if (info.threads > 1) {
    const child = spawnSync(
      process.execPath,
      [join(ctx.repoRoot, 'bench', 'lib', 'probe-step-child.mjs'), ctx.repoRoot, String(size), '2', String(rounds)],
      { encoding: 'utf8', env: { ...process.env, MULTICHEXNET_WASM_THREADS: '1', MULTICHEXNET_LOG: 'warn' } },
    );
    if (child.status === 0) {
      const one = JSON.parse(child.stdout.trim().split('\n').pop());
      threads = { lever: `${info.threads} XNNPACK threads (vs 1)`, withoutMs: one.medianMs, withMs: all, savesMs: one.medianMs - all, samples: one.samples };
    } else {
      threads = { error: child.stderr.slice(-500) };
    }
  }
  for (const l of levers.slice(1)) ctx.log(`${l.lever}: ${l.withoutMs.toFixed(0)} -> ${l.withMs.toFixed(0)} ms`);
  return { backend: { name: info.name, threads: info.threads }, size, batch: 16, rounds, allLeversMs: all, levers: levers.slice(1), threads };
}
