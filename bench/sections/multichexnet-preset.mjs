// ===== Default MultiCheXNet preset (encoder + three heads) at the plan's 256 px, batch 16 =====
// One joint training step of the project's default model: @multichexnet/trainer's `full` plan size (CheXEnc
// densenet-small with CheXCls, CheXDet and CheXSeg as that plan configures them), the loss being the plain sum
// of the three heads' losses on random targets, Adam (bench/lib/preset.mjs).
// Reports step time, images/s, peak RSS and live tensors before / after the measured steps (target: peak RSS
// < 3 GB), plus the step on one thread in process CPU time (child process), which other load does not distort.
// Skipped with a note when one of the packages is missing from the tree.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { importPresetPackages, presetTrainer, PRESET_PACKAGES } from '../lib/preset.mjs';

export const name = 'multichexnet-preset';
export const description = 'default MultiCheXNet preset (encoder + cls/det/seg heads) train step at 256 px, batch 16';
export const packages = PRESET_PACKAGES;

const BATCH = 16;
const RSS_TARGET_MB = 3 * 1024;

export async function run(ctx) {
  const missing = PRESET_PACKAGES.filter((p) => !existsSync(join(ctx.repoRoot, 'packages', p, 'dist', 'index.js')));
  if (missing.length > 0) return { skipped: `packages not built or not in the tree yet: ${missing.join(', ')}` };
  const pkgs = await importPresetPackages(ctx.repoRoot);
  const { tf } = pkgs.core;
  const info = await pkgs.core.initBackend('wasm');
  const tensorsAtStart = tf.memory().numTensors;
  const trainer = presetTrainer(pkgs, { batch: BATCH });
  const SIZE = trainer.size;
  const warmup = ctx.quick ? 1 : 2;
  const iterations = ctx.quick ? 2 : 5;
  let loss = NaN;
  trainer.step(); // first step: operator creation, heap growth
  const tensorsBefore = tf.memory().numTensors;
  const rssBeforeMB = process.memoryUsage().rss / 2 ** 20;
  const timing = await ctx.measure(
    () => {
      loss = trainer.step();
    },
    { warmup, iterations },
  );
  const tensorsAfter = tf.memory().numTensors;
  const stepsRun = 1 + warmup + iterations;
  ctx.log(
    `step ${timing.medianMs.toFixed(0)} ms, ${((BATCH * 1000) / timing.medianMs).toFixed(2)} images/s, ${stepsRun} steps`,
  );
  const { encoder, params, heads } = trainer;
  trainer.dispose();
  const peakRssMB = process.resourceUsage().maxRSS / 1024;

  // The same step on one thread in a fresh process, in CPU time.
  const child = spawnSync(
    process.execPath,
    [join(ctx.repoRoot, 'bench', 'lib', 'preset-child.mjs'), ctx.repoRoot, '1', ctx.quick ? '1' : '2'],
    {
      encoding: 'utf8',
      env: { ...process.env, MULTICHEXNET_WASM_THREADS: '1', MULTICHEXNET_LOG: 'warn' },
    },
  );
  const oneThread =
    child.status === 0 ? JSON.parse(child.stdout.trim().split('\n').pop()) : { error: child.stderr.slice(-800) };
  if (child.status === 0) ctx.log(`1 thread: ${oneThread.cpuMedianMs.toFixed(0)} ms CPU time per step`);
  return {
    backend: { name: info.name, threads: info.threads },
    imageSize: SIZE,
    batch: BATCH,
    encoder: { preset: encoder.config.preset, featureChannels: encoder.featureChannels },
    heads: {
      det: { hiddenChannels: heads.det.hiddenChannels, hiddenLayers: heads.det.hiddenLayers },
      seg: { decoderChannels: heads.seg.decoderChannels },
    },
    params,
    step: { medianMs: timing.medianMs, p10Ms: timing.p10Ms, p90Ms: timing.p90Ms, samples: timing.samples },
    imagesPerSecond: (BATCH * 1000) / timing.medianMs,
    oneThreadCpu: oneThread.error
      ? { error: oneThread.error }
      : {
          stepMs: oneThread.cpuMedianMs,
          imagesPerCpuSecond: (BATCH * 1000) / oneThread.cpuMedianMs,
          samples: oneThread.cpu,
        },
    lastLoss: loss,
    stepsRun,
    tensors: {
      beforeSteps: tensorsBefore,
      afterSteps: tensorsAfter,
      growth: tensorsAfter - tensorsBefore,
      leakedAfterDispose: tf.memory().numTensors - tensorsAtStart,
    },
    rss: {
      beforeStepsMB: rssBeforeMB,
      peakMB: peakRssMB,
      targetMB: RSS_TARGET_MB,
      meetsTarget: peakRssMB < RSS_TARGET_MB,
    },
  };
}
