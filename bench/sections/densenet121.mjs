// DenseNet-121, the encoder of the paper (CheXEnc `densenet121` + global average pool + dense 14 + BCE, Adam):
// one training step at 2x256, 4x224, 8x224, 8x256 and 16x256 on our wasm backend (a fresh child process per size,
// default threads) against its PyTorch twin (bench/reference/densenet121_torch.py, 2 threads) in the same run,
// with the achieved GFLOP/s (21.6 GFLOP per 256 px image). Also: the GEMM peak of the backend (tf.matMul on our
// GEMM, with and without relaxed SIMD, and on tfjs's stock kernel) beside PyTorch's matmul, the per-kernel
// profile of one step, and @tensorflow/tfjs-node when it is installed. Goal (issue 22): 8x256 within 2.5x of
// PyTorch. Wall-clock ratios need a quiet machine: the 1-minute load average is recorded with every number.
// MCX_BENCH_BASELINE=<dir with an older build of packages/core and packages/core-encoder> adds a `before`
// column measured in the same run (bench/tools/baseline-build.mjs makes one from a git commit).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { nativeBackend } from '../lib/native-backend.mjs';

export const name = 'densenet121';
export const description =
  'DenseNet-121 + pool + dense 14 train step vs PyTorch (2x256 .. 16x256), GFLOP/s, GEMM peak, profile';
export const packages = ['core', 'core-encoder'];

const CONFIGS = [
  [2, 256],
  [4, 224],
  [8, 224],
  [8, 256],
  [16, 256],
];
const GOAL = { batch: 8, size: 256, ratio: 2.5 };
/** Sizes also measured on one thread in CPU time. */
const ONE_THREAD = new Set(['2x256', '4x224', '8x256']);

function child(ctx, script, args, env = {}, root = ctx.repoRoot) {
  const r = spawnSync(process.execPath, [join(ctx.repoRoot, 'bench', 'lib', script), root, ...args.map(String)], {
    encoding: 'utf8',
    env: { ...process.env, MULTICHEXNET_LOG: 'warn', ...env },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function torch(ctx, args) {
  if (!ctx.torchAvailable) return { skipped: 'Debian torch not importable with /usr/bin/python3' };
  const r = spawnSync(
    ctx.python,
    [join(ctx.repoRoot, 'bench', 'reference', 'densenet121_torch.py'), ...args.map(String)],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '2' },
    },
  );
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

export async function run(ctx) {
  const core = await ctx.importPackage('core');
  const info = await core.initBackend('wasm');
  const result = {
    backend: { name: info.name, threads: info.threads, relaxedSimd: info.relaxedSimd },
    gflopPerImage256: 21.6,
    nativeBackend: nativeBackend(ctx.repoRoot),
  };

  // The backend's GEMM peak in this run, beside PyTorch's: default threads in wall time, and one thread in process
  // CPU time (what a busy machine does not distort).
  const n = ctx.quick ? 1024 : 2048;
  const load0 = loadavg()[0];
  const mm = (gemm, env, size = n) => child(ctx, 'matmul-child.mjs', [size, gemm], env);
  const one = { MULTICHEXNET_WASM_THREADS: '1' };
  result.gemmPeak = {
    n,
    ours: mm('1', {}),
    oursOneThread: mm('1', one),
    oursSimd128OneThread: mm('1', { ...one, MULTICHEXNET_RELAXED_SIMD: '0' }),
    tfjsStock: mm('0', {}, 1024),
    tfjsStockOneThread: mm('0', one, 1024),
    pytorch: torch(ctx, ['--batch', 0, '--threads', 2, '--matmul', n]).matmul ?? null,
    pytorchOneThread: torch(ctx, ['--batch', 0, '--threads', 1, '--matmul', n]).matmul ?? null,
    loadAvg1m: [load0, loadavg()[0]],
  };
  const g = result.gemmPeak;
  ctx.log(
    `GEMM ${n}^3, 1 thread CPU time: ours ${g.oursOneThread.cpuGflops?.toFixed(1)} GFLOP/s (SIMD128 ${g.oursSimd128OneThread.cpuGflops?.toFixed(1)}), tfjs stock ${g.tfjsStockOneThread.cpuGflops?.toFixed(1)} (1024^3), PyTorch ${g.pytorchOneThread?.cpuGflops?.toFixed(1)}; ` +
      `${info.threads} threads wall: ours ${g.ours.wallGflops?.toFixed(1)}, PyTorch ${g.pytorch?.wallGflops?.toFixed(1)}`,
  );

  // Training steps, ours and PyTorch's, size by size.
  const steps = ctx.quick ? 1 : 3;
  result.steps = [];
  for (const [batch, size] of CONFIGS) {
    const ours = child(ctx, 'densenet-child.mjs', [size, batch, 1, steps]);
    const pt = torch(ctx, ['--size', size, '--batch', batch, '--threads', 2, '--warmup', 1, '--steps', steps]);
    const entry = { batch, size, ours, pytorch: pt };
    const baseline = process.env.MCX_BENCH_BASELINE;
    if (baseline) entry.before = child(ctx, 'densenet-child.mjs', [size, batch, 1, steps], {}, baseline);
    // One thread each side, process CPU time: the ratio a busy machine does not distort.
    if (ONE_THREAD.has(`${batch}x${size}`) && !ctx.quick) {
      const o1 = child(ctx, 'densenet-child.mjs', [size, batch, 1, 2], { MULTICHEXNET_WASM_THREADS: '1' });
      const p1 = torch(ctx, ['--size', size, '--batch', batch, '--threads', 1, '--warmup', 1, '--steps', 2]);
      entry.oneThreadCpu = {
        oursMs: o1.cpuMedianMs ?? null,
        pytorchMs: p1.cpuMedianMs ?? null,
        oursError: o1.error,
        pytorchError: p1.error,
      };
      if (o1.cpuMedianMs !== undefined && p1.cpuMedianMs !== undefined) {
        entry.oneThreadCpu.ratio = o1.cpuMedianMs / p1.cpuMedianMs;
        entry.oneThreadCpu.oursGflops = (o1.gflopPerStep / o1.cpuMedianMs) * 1000;
      }
    }
    if (ours.medianMs !== undefined && pt.medianMs !== undefined) {
      entry.ratio = ours.medianMs / pt.medianMs;
      entry.pytorchGflops = (ours.gflopPerStep / pt.medianMs) * 1000;
      if (entry.before?.medianMs !== undefined) entry.ratioBefore = entry.before.medianMs / pt.medianMs;
    }
    if (batch === GOAL.batch && size === GOAL.size) {
      // The goal size again, ours and PyTorch alternating, so that a change of load hits both sides alike.
      const rounds = ctx.quick ? 0 : 3;
      entry.alternating = [];
      for (let r = 0; r < rounds; r++) {
        const o = child(ctx, 'densenet-child.mjs', [size, batch, 1, 2]);
        const p = torch(ctx, ['--size', size, '--batch', batch, '--threads', 2, '--warmup', 1, '--steps', 2]);
        entry.alternating.push({
          oursMs: o.medianMs ?? null,
          pytorchMs: p.medianMs ?? null,
          ratio: o.medianMs / p.medianMs,
          loadAvg1m: [o.loadBefore, loadavg()[0]],
        });
      }
      const ratios = [entry.ratio, ...entry.alternating.map((a) => a.ratio)]
        .filter((r) => Number.isFinite(r))
        .sort((a, b) => a - b);
      entry.medianRatio = ratios[(ratios.length - 1) >> 1];
      entry.goal = { ratio: GOAL.ratio, met: entry.medianRatio !== undefined && entry.medianRatio <= GOAL.ratio };
      ctx.log(
        `${batch}x${size} alternating: ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}, median ${entry.medianRatio?.toFixed(2)}`,
      );
    }
    ctx.log(
      `${batch}x${size}: ours ${ours.medianMs?.toFixed(0) ?? ours.error} ms (${ours.gflops?.toFixed(1) ?? '-'} GFLOP/s), PyTorch ${pt.medianMs?.toFixed(0) ?? pt.error ?? pt.skipped} ms, ratio ${entry.ratio?.toFixed(2) ?? '-'}${entry.before ? `, before ${entry.before.medianMs?.toFixed(0) ?? entry.before.error?.slice(0, 80)} ms` : ''}, load ${ours.loadBefore?.toFixed(1)}` +
        (entry.oneThreadCpu
          ? `; 1 thread CPU: ours ${entry.oneThreadCpu.oursMs?.toFixed(0)} ms, PyTorch ${entry.oneThreadCpu.pytorchMs?.toFixed(0)} ms, ratio ${entry.oneThreadCpu.ratio?.toFixed(2)}`
          : ''),
    );
    result.steps.push(entry);
  }

  if (result.nativeBackend.available) {
    result.native = CONFIGS.filter(([b]) => b <= 8).map(([batch, size]) =>
      child(ctx, 'densenet-child.mjs', [size, batch, 1, steps, 'tensorflow']),
    );
  }

  // Where the time of one step goes: every wasm kernel timed (outermost calls only), one thread, CPU time. The
  // input gradient of a convolution is computed when the next kernel reads it (deferred), so it is counted there:
  // MULTICHEXNET_DEFER=0 shows it on its own.
  const [pb, ps] = ctx.quick ? [2, 128] : [4, 224];
  result.profile = child(ctx, 'densenet-profile-child.mjs', [ps, pb], { MULTICHEXNET_DEFER: '0' });
  return result;
}
