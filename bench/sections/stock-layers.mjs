// Nets written with stock tfjs layers only (tf.layers.conv2d + tf.layers.batchNormalization + tf.layers.reLU, ...;
// no @multichexnet layer), trained with optimizer.minimize + Adam on our wasm backend, against PyTorch twins in
// the same run: the probe net of specs/TRAINING-SPEED.md at 128 and 256 px (goal <= 2x and <= 1.5x PyTorch) and a
// small DenseNet + segmentation decoder at 256 px (bench/lib/stock-seg-net.mjs, goal <= 2x). "before" is the
// same stock net on an older build of core given by MCX_BENCH_BASELINE (bench/tools/baseline-build.mjs), else on
// tfjs's own BatchNormalization path (MULTICHEXNET_LAYERS_BN=stock). Each measurement runs in a fresh child
// process, 2 threads on both sides.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { torchProbe } from '../lib/probe-net.mjs';

export const name = 'stock-layers';
export const description =
  'nets from stock tfjs layers (probe net 128/256 px, DenseNet + seg decoder 256 px) vs PyTorch twins';
export const packages = ['core'];

function ours(ctx, net, size, batch, warmup, steps, env = {}, root = ctx.repoRoot) {
  const r = spawnSync(
    process.execPath,
    [join(ctx.repoRoot, 'bench', 'lib', 'stock-child.mjs'), root, net, size, batch, warmup, steps].map(String),
    {
      encoding: 'utf8',
      env: { ...process.env, MULTICHEXNET_LOG: 'warn', ...env },
    },
  );
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function torchSeg(ctx, size, batch, warmup, steps, threads = 2) {
  if (!ctx.torchAvailable) return { skipped: 'Debian torch not importable with /usr/bin/python3' };
  const r = spawnSync(
    ctx.python,
    [
      join(ctx.repoRoot, 'bench', 'reference', 'seg_net_torch.py'),
      '--size',
      size,
      '--batch',
      batch,
      '--warmup',
      warmup,
      '--steps',
      steps,
      '--threads',
      threads,
    ].map(String),
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    },
  );
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** One thread each side, process CPU time: the ratio a busy machine does not distort. */
function oneThreadCpu(oursRun, torchRun) {
  const out = { oursMs: oursRun.cpuMedianMs ?? null, pytorchMs: torchRun?.cpuMedianMs ?? null };
  if (out.oursMs !== null && out.pytorchMs !== null) out.ratio = out.oursMs / out.pytorchMs;
  return out;
}

function compare(entry, goal) {
  if (entry.ours.medianMs !== undefined && entry.pytorch?.medianMs !== undefined) {
    entry.ratio = entry.ours.medianMs / entry.pytorch.medianMs;
    if (entry.before?.medianMs !== undefined) entry.ratioBefore = entry.before.medianMs / entry.pytorch.medianMs;
    entry.goal = { ratio: goal, met: entry.ratio <= goal };
  }
  return entry;
}

/** The stock net as it trained before: on the baseline build when given, else on tfjs's own BatchNorm path. */
function before(ctx, net, size, batch, steps) {
  const baseline = process.env.MCX_BENCH_BASELINE;
  if (baseline) return { build: 'baseline', ...ours(ctx, net, size, batch, 1, steps, {}, baseline) };
  return {
    build: 'this, MULTICHEXNET_LAYERS_BN=stock',
    ...ours(ctx, net, size, batch, 1, steps, { MULTICHEXNET_LAYERS_BN: 'stock' }),
  };
}

export async function run(ctx) {
  const q = ctx.quick;
  const result = { probeNet: {}, segNet: null };
  for (const size of [128, 256]) {
    const [warmup, steps] = size === 128 ? [2, q ? 3 : 9] : [1, q ? 2 : 5];
    const entry = { size, batch: 16, ours: ours(ctx, 'probe', size, 16, warmup, steps) };
    entry.before = before(ctx, 'probe', size, 16, q ? 2 : 3);
    entry.pytorch = await torchProbe(ctx, { size, warmup, steps });
    entry.oneThreadCpu = oneThreadCpu(
      ours(ctx, 'probe', size, 16, warmup, steps, { MULTICHEXNET_WASM_THREADS: '1' }),
      await torchProbe(ctx, { size, warmup, steps, threads: 1 }),
    );
    result.probeNet[size] = compare(entry, size === 128 ? 2 : 1.5);
    ctx.log(
      `probe net ${size} px: stock layers ${entry.ours.medianMs?.toFixed(0)} ms, PyTorch ${entry.pytorch?.medianMs?.toFixed(0)} ms, ratio ${entry.ratio?.toFixed(2)}${entry.ratioBefore ? ` (before: ${entry.ratioBefore.toFixed(1)})` : ''}; 1 thread CPU ratio ${entry.oneThreadCpu.ratio?.toFixed(2)}, load ${entry.ours.loadAvg1m?.[0]}`,
    );
  }
  const [size, batch] = [256, 8];
  const seg = { size, batch, ours: ours(ctx, 'seg', size, batch, 1, q ? 2 : 4) };
  seg.before = before(ctx, 'seg', size, batch, q ? 1 : 2);
  seg.pytorch = torchSeg(ctx, size, batch, 1, q ? 2 : 4);
  seg.oneThreadCpu = oneThreadCpu(
    ours(ctx, 'seg', size, batch, 1, q ? 1 : 3, { MULTICHEXNET_WASM_THREADS: '1' }),
    torchSeg(ctx, size, batch, 1, q ? 1 : 3, 1),
  );
  result.segNet = compare(seg, 2);
  ctx.log(
    `DenseNet + seg decoder ${batch}x${size}: stock layers ${seg.ours.medianMs?.toFixed(0)} ms, PyTorch ${seg.pytorch?.medianMs?.toFixed(0)} ms, ratio ${seg.ratio?.toFixed(2)} (before: ${seg.ratioBefore?.toFixed(1)}); 1 thread CPU ratio ${seg.oneThreadCpu.ratio?.toFixed(2)}, load ${seg.ours.loadAvg1m?.[0]}`,
  );
  return result;
}
