// DenseNet-121, the encoder of the paper (CheXEnc `densenet121` + global average pool + dense 14 + BCE, Adam):
// one training step at 2x256, 4x224, 8x224, 8x256 and 16x256 on our wasm backend (a fresh child process per size,
// default threads) against its PyTorch twin (bench/reference/densenet121_torch.py, 2 threads) in the same run,
// with the achieved GFLOP/s (21.6 GFLOP per 256 px image). Also: the GEMM peak of the backend (tf.matMul on our
// GEMM, with and without relaxed SIMD, and on tfjs's stock kernel) beside PyTorch's matmul, the per-kernel
// profile of one step, and @tensorflow/tfjs-node when it is installed. Goal (issue 22): 8x256 within 2.5x of
// PyTorch. Wall-clock ratios need a quiet machine: the 1-minute load average is recorded with every number.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { densenetTrainer } from '../lib/densenet.mjs';
import { matMulGflops } from '../lib/matmul-peak.mjs';
import { nativeBackend } from '../lib/native-backend.mjs';
import { kernelRows, timeKernels } from '../lib/tool-setup.mjs';

export const name = 'densenet121';
export const description = 'DenseNet-121 + pool + dense 14 train step vs PyTorch (2x256 .. 16x256), GFLOP/s, GEMM peak, profile';
export const packages = ['core', 'core-encoder'];

const CONFIGS = [
  [2, 256],
  [4, 224],
  [8, 224],
  [8, 256],
  [16, 256],
];
const GOAL = { batch: 8, size: 256, ratio: 2.5 };

function child(ctx, script, args, env = {}) {
  const r = spawnSync(process.execPath, [join(ctx.repoRoot, 'bench', 'lib', script), ctx.repoRoot, ...args.map(String)], {
    encoding: 'utf8',
    env: { ...process.env, MULTICHEXNET_LOG: 'warn', ...env },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function torch(ctx, args) {
  if (!ctx.torchAvailable) return { skipped: 'Debian torch not importable with /usr/bin/python3' };
  const r = spawnSync(ctx.python, [join(ctx.repoRoot, 'bench', 'reference', 'densenet121_torch.py'), ...args.map(String)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '2' },
  });
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

export async function run(ctx) {
  const core = await ctx.importPackage('core');
  const encoderPkg = await ctx.importPackage('core-encoder');
  const info = await core.initBackend('wasm');
  const result = {
    backend: { name: info.name, threads: info.threads, relaxedSimd: info.relaxedSimd },
    gflopPerImage256: 21.6,
    nativeBackend: nativeBackend(ctx.repoRoot),
  };

  // The backend's GEMM peak in this run, beside PyTorch's.
  const n = ctx.quick ? 1024 : 2048;
  const load0 = loadavg()[0];
  result.gemmPeak = {
    ours: matMulGflops(core, n, '1'),
    oursSimd128: child(ctx, 'matmul-child.mjs', [n], { MULTICHEXNET_RELAXED_SIMD: '0' }),
    tfjsStock: matMulGflops(core, 1024, '0', 1),
    pytorch: torch(ctx, ['--batch', 0, '--threads', 2, '--matmul', n]).matmul ?? null,
    loadAvg1m: [load0, loadavg()[0]],
  };
  ctx.log(`GEMM ${n}^3: ours ${result.gemmPeak.ours.gflops.toFixed(1)} GFLOP/s (SIMD128 ${result.gemmPeak.oursSimd128.gflops?.toFixed(1)}), tfjs stock ${result.gemmPeak.tfjsStock.gflops.toFixed(1)} at 1024^3, PyTorch ${result.gemmPeak.pytorch?.gflops?.toFixed(1)}`);

  // Training steps, ours and PyTorch's, size by size.
  const steps = ctx.quick ? 1 : 3;
  result.steps = [];
  for (const [batch, size] of CONFIGS) {
    const ours = child(ctx, 'densenet-child.mjs', [size, batch, 1, steps]);
    const pt = torch(ctx, ['--size', size, '--batch', batch, '--threads', 2, '--warmup', 1, '--steps', steps]);
    const entry = { batch, size, ours, pytorch: pt };
    if (ours.medianMs !== undefined && pt.medianMs !== undefined) {
      entry.ratio = ours.medianMs / pt.medianMs;
      entry.pytorchGflops = (ours.gflopPerStep / pt.medianMs) * 1000;
    }
    if (batch === GOAL.batch && size === GOAL.size) entry.goal = { ratio: GOAL.ratio, met: entry.ratio !== undefined && entry.ratio <= GOAL.ratio };
    ctx.log(
      `${batch}x${size}: ours ${ours.medianMs?.toFixed(0) ?? ours.error} ms (${ours.gflops?.toFixed(1) ?? '-'} GFLOP/s), PyTorch ${pt.medianMs?.toFixed(0) ?? pt.error ?? pt.skipped} ms, ratio ${entry.ratio?.toFixed(2) ?? '-'}, load ${ours.loadBefore?.toFixed(1)}`,
    );
    result.steps.push(entry);
  }

  if (result.nativeBackend.available) {
    result.native = CONFIGS.filter(([b]) => b <= 8).map(([batch, size]) => child(ctx, 'densenet-child.mjs', [size, batch, 1, steps, 'tensorflow']));
  }

  // Where the time of one step goes: every wasm kernel timed (outermost calls only), 4 x 224.
  const [pb, ps] = ctx.quick ? [2, 128] : [4, 224];
  const totals = timeKernels(core.tf);
  const trainer = densenetTrainer(core, encoderPkg, { size: ps, batch: pb });
  trainer.step();
  totals.clear();
  const t0 = performance.now();
  trainer.step();
  const stepMs = performance.now() - t0;
  trainer.dispose();
  const { rows, kernelMs } = kernelRows(totals, 1);
  result.profile = {
    batch: pb,
    size: ps,
    threads: info.threads,
    stepMs,
    kernelMs,
    otherMs: stepMs - kernelMs,
    kernels: rows.filter(([, ms]) => ms >= 1).map(([kernel, ms, calls]) => ({ kernel, ms, calls, share: ms / stepMs })),
    loadAvg1m: loadavg()[0],
  };
  return result;
}
