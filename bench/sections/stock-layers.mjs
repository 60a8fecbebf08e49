// Nets written with stock tfjs layers only (tf.layers.conv2d + tf.layers.batchNormalization + tf.layers.reLU, ...;
// no @multichexnet layer), trained with optimizer.minimize + Adam on our wasm backend, against PyTorch twins in
// the same run: the probe net of specs/TRAINING-SPEED.md at 128 and 256 px (goal <= 2x and <= 1.5x PyTorch) and a
// small DenseNet + segmentation decoder at 256 px (bench/lib/stock-seg-net.mjs, goal <= 2x). "before" is the
// same stock net on tfjs's own BatchNormalization path (MULTICHEXNET_LAYERS_BN=stock), as it ran before the
// backend made stock layers fast. Each measurement runs in a fresh child process, 2 threads on both sides.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { torchProbe } from '../lib/probe-net.mjs';

export const name = 'stock-layers';
export const description = 'nets from stock tfjs layers (probe net 128/256 px, DenseNet + seg decoder 256 px) vs PyTorch twins';
export const packages = ['core'];

function ours(ctx, net, size, batch, warmup, steps, env = {}) {
  const r = spawnSync(process.execPath, [join(ctx.repoRoot, 'bench', 'lib', 'stock-child.mjs'), ctx.repoRoot, net, size, batch, warmup, steps].map(String), {
    encoding: 'utf8',
    env: { ...process.env, MULTICHEXNET_LOG: 'warn', ...env },
  });
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function torchSeg(ctx, size, batch, warmup, steps) {
  if (!ctx.torchAvailable) return { skipped: 'Debian torch not importable with /usr/bin/python3' };
  const r = spawnSync(ctx.python, [join(ctx.repoRoot, 'bench', 'reference', 'seg_net_torch.py'), '--size', size, '--batch', batch, '--warmup', warmup, '--steps', steps].map(String), {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '2' },
  });
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function compare(entry, goal) {
  if (entry.ours.medianMs !== undefined && entry.pytorch?.medianMs !== undefined) {
    entry.ratio = entry.ours.medianMs / entry.pytorch.medianMs;
    if (entry.before?.medianMs !== undefined) entry.ratioBefore = entry.before.medianMs / entry.pytorch.medianMs;
    entry.goal = { ratio: goal, met: entry.ratio <= goal };
  }
  return entry;
}

export async function run(ctx) {
  const q = ctx.quick;
  const result = { probeNet: {}, segNet: null };
  for (const size of [128, 256]) {
    const [warmup, steps] = size === 128 ? [2, q ? 3 : 9] : [1, q ? 2 : 5];
    const entry = { size, batch: 16, ours: ours(ctx, 'probe', size, 16, warmup, steps) };
    if (size === 128) entry.before = ours(ctx, 'probe', size, 16, 1, q ? 2 : 3, { MULTICHEXNET_LAYERS_BN: 'stock' });
    entry.pytorch = await torchProbe(ctx, { size, warmup, steps });
    result.probeNet[size] = compare(entry, size === 128 ? 2 : 1.5);
    ctx.log(`probe net ${size} px: stock layers ${entry.ours.medianMs?.toFixed(0)} ms, PyTorch ${entry.pytorch?.medianMs?.toFixed(0)} ms, ratio ${entry.ratio?.toFixed(2)}${entry.ratioBefore ? ` (before: ${entry.ratioBefore.toFixed(1)})` : ''}`);
  }
  const [size, batch] = [256, 8];
  const seg = { size, batch, ours: ours(ctx, 'seg', size, batch, 1, q ? 2 : 4) };
  seg.before = ours(ctx, 'seg', size, batch, 1, q ? 1 : 2, { MULTICHEXNET_LAYERS_BN: 'stock' });
  seg.pytorch = torchSeg(ctx, size, batch, 1, q ? 2 : 4);
  result.segNet = compare(seg, 2);
  ctx.log(`DenseNet + seg decoder ${batch}x${size}: stock layers ${seg.ours.medianMs?.toFixed(0)} ms, PyTorch ${seg.pytorch?.medianMs?.toFixed(0)} ms, ratio ${seg.ratio?.toFixed(2)} (before: ${seg.ratioBefore?.toFixed(1)})`);
  return result;
}
