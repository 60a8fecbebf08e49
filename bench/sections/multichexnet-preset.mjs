// ===== Default MultiCheXNet preset (encoder + three heads) at 256 px, batch 16 =====
// One joint training step of CheXEnc (createEncoder() defaults) with CheXCls, CheXDet and CheXSeg (their factory
// defaults), the loss being the plain sum of the three heads' losses on random targets, Adam. Reports step time,
// images/s, peak RSS and live tensors before / after the measured steps. Target: peak RSS < 3 GB.
// Built from the BUILT packages; skipped with a note when one of them is missing from the tree.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const name = 'multichexnet-preset';
export const description = 'default MultiCheXNet preset (encoder + cls/det/seg heads) train step at 256 px, batch 16';
export const packages = ['core', 'core-encoder', 'head-cls', 'head-det', 'head-seg'];

const SIZE = 256;
const BATCH = 16;
const RSS_TARGET_MB = 3 * 1024;

/** Random but fixed targets for the three heads (a box or none per image, a blob mask per image). */
function randomTargets(core, det, rng) {
  const { tf } = core;
  const labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([BATCH, 14], 0, 1, 'float32', 11), 0.8), 'float32'));
  const boxes = Array.from({ length: BATCH }, () => {
    if (rng() < 0.4) return [];
    const w = 30 + rng() * 80;
    const h = 30 + rng() * 80;
    return [{ x: rng() * (SIZE - w), y: rng() * (SIZE - h), width: w, height: h }];
  });
  const detTargets = det.encodeTargets(boxes, SIZE);
  const mask = new Float32Array(BATCH * SIZE * SIZE);
  for (let b = 0; b < BATCH; b++) {
    if (rng() < 0.5) continue;
    const cx = 40 + rng() * 176;
    const cy = 40 + rng() * 176;
    const r = 10 + rng() * 30;
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) mask[(b * SIZE + y) * SIZE + x] = 1;
  }
  const masks = tf.tensor4d(mask, [BATCH, SIZE, SIZE, 1]);
  return { labels, detTargets, masks };
}

export async function run(ctx) {
  const missing = packages.filter((p) => !existsSync(join(ctx.repoRoot, 'packages', p, 'dist', 'index.js')));
  if (missing.length > 0) return { skipped: `packages not built or not in the tree yet: ${missing.join(', ')}` };
  const core = await ctx.importPackage('core');
  const { createEncoder } = await ctx.importPackage('core-encoder');
  const { createClsHead } = await ctx.importPackage('head-cls');
  const { createDetHead, disposeDetTargets } = await ctx.importPackage('head-det');
  const { createSegHead } = await ctx.importPackage('head-seg');
  const { tf } = core;
  const info = await core.initBackend('wasm');
  const r = core.createRng(5);
  const rng = () => r.next();
  const tensorsAtStart = tf.memory().numTensors;

  const encoder = createEncoder({ seed: 1 });
  const featureChannels = encoder.featureChannels;
  const cls = createClsHead({ classes: [...core.CHESTXRAY14_CLASSES], featureChannels, seed: 2 });
  const det = createDetHead({ featureChannels, seed: 3 });
  const seg = createSegHead({ featureChannels, seed: 4 });
  const blocks = { encoder, cls, det, seg };
  const params = Object.fromEntries(Object.entries(blocks).map(([k, b]) => [k, b.countParams?.() ?? null]));
  const vars = Object.values(blocks).flatMap((b) => b.trainableWeights.map((w) => w.read()));
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([BATCH, SIZE, SIZE, 1], 0, 1, 'float32', 9);
  const targets = randomTargets(core, det, rng);
  const step = () => {
    const total = optimizer.minimize(
      () => {
        const f = encoder.apply(x, { training: true });
        const lc = cls.loss(targets.labels, cls.apply(f, { training: true }));
        const ld = det.loss(targets.detTargets, det.apply(f, { training: true }));
        const ls = seg.loss(targets.masks, seg.apply(f, { training: true }));
        return tf.addN([lc, ld, ls]);
      },
      true,
      vars,
    );
    const v = total.dataSync()[0];
    total.dispose();
    return v;
  };

  const warmup = ctx.quick ? 1 : 2;
  const iterations = ctx.quick ? 2 : 5;
  let loss = NaN;
  step(); // first step: graph tracing, operator creation, heap growth
  const tensorsBefore = tf.memory().numTensors;
  const rssBeforeMB = process.memoryUsage().rss / 2 ** 20;
  const timing = await ctx.measure(() => {
    loss = step();
  }, { warmup, iterations });
  const tensorsAfter = tf.memory().numTensors;
  const stepsRun = 1 + warmup + iterations;
  ctx.log(`step ${timing.medianMs.toFixed(0)} ms, ${((BATCH * 1000) / timing.medianMs).toFixed(2)} images/s, ${stepsRun} steps`);

  tf.dispose([x, targets.labels, targets.masks]);
  disposeDetTargets(targets.detTargets);
  optimizer.dispose();
  for (const b of Object.values(blocks)) b.dispose();
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  return {
    backend: { name: info.name, threads: info.threads },
    imageSize: SIZE,
    batch: BATCH,
    encoder: { preset: encoder.config.preset, featureChannels },
    params,
    step: { medianMs: timing.medianMs, p10Ms: timing.p10Ms, p90Ms: timing.p90Ms, samples: timing.samples },
    imagesPerSecond: (BATCH * 1000) / timing.medianMs,
    lastLoss: loss,
    stepsRun,
    tensors: { beforeSteps: tensorsBefore, afterSteps: tensorsAfter, growth: tensorsAfter - tensorsBefore, leakedAfterDispose: tf.memory().numTensors - tensorsAtStart },
    rss: { beforeStepsMB: rssBeforeMB, peakMB: peakRssMB, targetMB: RSS_TARGET_MB, meetsTarget: peakRssMB < RSS_TARGET_MB },
  };
}
