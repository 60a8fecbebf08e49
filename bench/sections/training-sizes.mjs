// ===== Which sizes train in what time (and memory) on the wasm backend =====
// 1. One training step (the trainer's trainStep: CheXEnc + CheXCls, i.e. global average pool + dense 14 + masked BCE,
//    Adam) per encoder preset / image size / batch, each configuration in its own child process so that its peak RSS
//    (process.resourceUsage().maxRSS) is its own: densenet-tiny 128, densenet-small 256, DenseNet-121 at 224 / 256 px,
//    and DenseNet-121 at batch 16 x 256 px plain, memory-efficient (`memoryEfficient: true`), with gradient
//    accumulation (`accumulate: 4`, 4 micro-batches of 4) and both. A configuration whose step throws (the wasm heap
//    beyond 2 GiB before the overflow fix, or beyond 4 GiB) is reported with its error.
// 2. The quickstart (Table 1: every variant of the protocol, `multichexnet quickstart`) estimated from seconds per
//    step of each of its phases (measured through train() on a small synthetic set) times the phase's steps: at the
//    `tiny` plan size (the quickstart's default) and at `small` (the same step counts, densenet-small at 256 px).
//    Training steps only: validation, export and report come on top.
// The 1-minute load average is recorded before and after each child: timings on a loaded machine are upper bounds.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';

export const name = 'training-sizes';
export const description =
  'which sizes train in what time: s/step and peak RSS per preset / size / batch (DenseNet-121 plain, memory-efficient, accumulated), quickstart estimate per plan size';
export const packages = ['core', 'core-encoder', 'data', 'synth', 'model', 'trainer'];

const CHILD_TIMEOUT_MS = 20 * 60 * 1000;

function child(ctx, script, args) {
  const before = loadavg()[0];
  const r = spawnSync(process.execPath, [join(ctx.repoRoot, 'bench', 'lib', script), ctx.repoRoot, ...args], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, MULTICHEXNET_LOG: 'warn' },
  });
  const load1 = { before, after: loadavg()[0] };
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status === 0 && last.startsWith('{')) return { ...JSON.parse(last), load1 };
  // A process the wasm runtime aborted (out of memory) or the timeout killed: the tail of its stderr says why.
  return {
    error: `child exited with ${r.signal ?? r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`,
    load1,
  };
}

function stepConfigs(quick) {
  const row = (preset, size, batch, extra = {}) => ({
    preset,
    size,
    batch,
    memoryEfficient: false,
    accumulate: 1,
    ...extra,
  });
  const b16 = [
    row('densenet121', 256, 16),
    row('densenet121', 256, 16, { memoryEfficient: true }),
    row('densenet121', 256, 16, { accumulate: 4 }),
    row('densenet121', 256, 16, { memoryEfficient: true, accumulate: 4 }),
  ];
  if (quick) return [row('densenet-tiny', 128, 16), row('densenet-small', 256, 16), ...b16];
  return [
    row('densenet-tiny', 128, 16),
    row('densenet-small', 256, 16),
    row('densenet-small', 256, 16, { memoryEfficient: true }),
    row('densenet121', 224, 4),
    row('densenet121', 224, 8),
    row('densenet121', 256, 2),
    row('densenet121', 256, 4),
    row('densenet121', 256, 8),
    row('densenet121', 256, 8, { memoryEfficient: true }),
    ...b16,
  ];
}

/**
 * The quickstart's training time at a plan size: sum over its phases of steps x measured (wall, CPU) seconds per step.
 */
function estimate(measured) {
  let seconds = 0;
  let cpuSeconds = 0;
  const phases = measured.phases.map((p) => {
    seconds += p.steps * p.secondsPerStep;
    cpuSeconds += p.steps * p.cpuSecondsPerStep;
    return {
      run: p.run,
      phase: p.phase,
      steps: p.steps,
      secondsPerStep: p.secondsPerStep,
      cpuSecondsPerStep: p.cpuSecondsPerStep,
    };
  });
  return {
    trainingMinutes: seconds / 60,
    trainingCpuMinutes: cpuSeconds / 60,
    steps: measured.phases.reduce((a, p) => a + p.steps, 0),
    phases,
  };
}

export async function run(ctx) {
  const steps = [];
  for (const cfg of stepConfigs(ctx.quick)) {
    const big = cfg.preset === 'densenet121' && cfg.batch >= 8;
    const r = child(ctx, 'train-size-child.mjs', [
      JSON.stringify({ ...cfg, warmup: ctx.quick || big ? 0 : 1, iterations: ctx.quick ? 1 : 2 }),
    ]);
    const label = `${cfg.preset} ${cfg.size} px x ${cfg.batch}${cfg.memoryEfficient ? ' memoryEfficient' : ''}${cfg.accumulate > 1 ? ` accumulate ${cfg.accumulate}` : ''}`;
    ctx.log(
      r.error
        ? `${label}: ${r.error}`
        : `${label}: ${(r.stepMs.median / 1000).toFixed(2)} s/step, peak RSS ${r.peakRssMB.toFixed(0)} MB, heap ${r.wasmHeapMB?.toFixed(0)} MB`,
    );
    steps.push({
      label,
      ...cfg,
      threads: r.backend?.threads ?? null,
      secondsPerStep: r.stepMs ? r.stepMs.median / 1000 : null,
      cpuSecondsPerStep: r.cpuMs ? r.cpuMs.median / 1000 : null,
      peakRssMB: r.peakRssMB ?? null,
      wasmHeapMB: r.wasmHeapMB ?? null,
      error: r.error ?? null,
      load1: r.load1,
      samplesMs: r.stepMs?.samples ?? [],
    });
  }

  const perStep = ctx.quick ? 2 : 4;
  const tiny = child(ctx, 'protocol-steps-child.mjs', ['tiny', String(perStep)]);
  ctx.log(tiny.error ? `protocol at tiny: ${tiny.error}` : 'protocol at tiny measured');
  const small = child(ctx, 'protocol-steps-child.mjs', ['small', String(perStep)]);
  ctx.log(
    small.error
      ? `protocol at small (densenet-small 256): ${small.error}`
      : 'protocol at small (densenet-small 256) measured',
  );
  const quickstart =
    tiny.error || small.error
      ? { error: tiny.error ?? small.error }
      : {
          // What `npm run quickstart` trains today.
          tiny: { encoder: tiny.encoder, imageSize: tiny.imageSize, ...estimate(tiny) },
          // The `small` plan size: tiny's step counts, full's model (densenet-small) at 256 px.
          small: { encoder: small.encoder, imageSize: small.imageSize, ...estimate(small) },
          measured: { tiny, small },
        };
  if (!quickstart.error)
    ctx.log(
      `quickstart training estimate: tiny ${quickstart.tiny.trainingMinutes.toFixed(1)} min (${quickstart.tiny.trainingCpuMinutes.toFixed(1)} CPU min), small ${quickstart.small.trainingMinutes.toFixed(1)} min (${quickstart.small.trainingCpuMinutes.toFixed(1)} CPU min)`,
    );
  return { backend: 'wasm (threads: see each row)', steps, quickstart };
}
