// Inference on onnxruntime, measured in one process on one set of images (the real X-rays of shared/realdata and
// deterministic variants of them), with the project's default MultiCheXNet preset (the trainer's `full` model config:
// densenet-small and heads proportionate to it, at the plan's 256 px; @multichexnet/trainer's builtinPlan +
// buildModel):
//   mtlVsSingle  one multi-task pass vs three single-task models (encoder + one head each), onnxruntime-node;
//                target: MTL >= 2.5x faster than the three together (also with the paper's DenseNet-121 encoder)
//   onnxVsTfjs   the same multi-task model on onnxruntime-node vs tfjs (wasm backend)
//   gating       gated vs ungated pipeline on a set where the gate stops 70% of the images
//   throughput   images/s at batch 1 and 16 (model alone, and the whole pipeline from decoded images)
// Weights are the seeded initialisation: speed does not depend on their values. The gate threshold is set to the
// 70th percentile of this model's gate probabilities on the set, which makes exactly 70% of it negative.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

export const name = 'onnx-inference';
export const description =
  'ONNX inference at 256 px: MTL vs 3 single-task models, onnxruntime-node vs tfjs-wasm, gated vs ungated pipeline, images/s';
export const packages = [
  'core',
  'core-encoder',
  'head-cls',
  'head-det',
  'head-seg',
  'gating',
  'model',
  'trainer',
  'data',
  'runtime',
  'export',
];

let SIZE = 256; // the preset's imageSize, set in run()
const REAL = ['00000001_000.png', '00027426_000.png', '16747_3_1.jpg', 'covid-19-pneumonia-58-prior.jpg'];

/** 20 decoded images: each real X-ray as is, mirrored, two crops and a gamma change (no randomness). */
function imageSet(data, repoRoot) {
  const dir = join(repoRoot, '..', 'shared', 'realdata');
  const bases = REAL.filter((f) => existsSync(join(dir, f))).map((f) =>
    data.decodeImage(new Uint8Array(readFileSync(join(dir, f))), f),
  );
  if (bases.length === 0) return null;
  const crop = (img, fx, fy, fw, fh) => {
    const x0 = Math.floor(img.width * fx),
      y0 = Math.floor(img.height * fy);
    const w = Math.floor(img.width * fw),
      h = Math.floor(img.height * fh);
    const out = new img.data.constructor(w * h);
    for (let y = 0; y < h; y++)
      out.set(img.data.subarray((y0 + y) * img.width + x0, (y0 + y) * img.width + x0 + w), y * w);
    return { ...img, width: w, height: h, data: out };
  };
  const mirror = (img) => {
    const out = new img.data.constructor(img.data.length);
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < img.width; x++) out[y * img.width + x] = img.data[y * img.width + img.width - 1 - x];
    return { ...img, data: out };
  };
  const gamma = (img) => ({ ...img, data: img.data.map((v) => Math.round(img.maxValue * (v / img.maxValue) ** 0.8)) });
  const set = [];
  for (let i = 0; set.length < 20; i++) {
    const b = bases[i % bases.length];
    const variant = Math.floor(i / bases.length) % 5;
    set.push([b, mirror(b), crop(b, 0.1, 0.1, 0.8, 0.8), crop(b, 0, 0, 0.6, 0.7), gamma(b)][variant]);
  }
  return set;
}

/**
 * Times several alternatives in interleaved rounds (A B C, A B C, ...) so that load from other processes on a
 * shared machine falls on all of them alike; returns the median and p10 per alternative.
 */
async function interleaved(fns, { warmup = 1, rounds = 5 } = {}) {
  const names = Object.keys(fns);
  for (let w = 0; w < warmup; w++) for (const n of names) await fns[n](w);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const t0 = performance.now();
      await fns[n](r);
      samples[n].push(performance.now() - t0);
    }
  }
  const stat = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { medianMs: s[Math.floor((s.length - 1) / 2)], p10Ms: s[Math.round(0.1 * (s.length - 1))], samples: xs };
  };
  return Object.fromEntries(names.map((n) => [n, stat(samples[n])]));
}

/**
 * Where the MTL graph's kernel time goes (onnxruntime profiling, batch 16), by block: node names carry the block
 * name (encoder, cls, chex_det, chex_seg). Shares survive load from other processes better than wall times do;
 * with encoder time E and head time H, one pass beats three single-task models by (3E + H) / (E + H).
 */
async function kernelShares(bytes, batch, runs) {
  const ort = await import('onnxruntime-node');
  const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'mcx-ortprof-'));
  try {
    const session = await ort.InferenceSession.create(bytes, {
      enableProfiling: true,
      profileFilePrefix: join(dir, 'p'),
      graphOptimizationLevel: 'all',
    });
    const feeds = { image: new ort.Tensor('float32', batch.data, batch.dims) };
    for (let i = 0; i < runs; i++) await session.run(feeds);
    await session.endProfiling?.();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')).filter(
      (e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'),
    );
    const ms = { encoder: 0, cls: 0, det: 0, seg: 0, other: 0 };
    for (const e of events) {
      const n = e.name.replace(/^fused /, '');
      const key = n.startsWith('encoder')
        ? 'encoder'
        : n.startsWith('cls')
          ? 'cls'
          : n.startsWith('chex_det') || n.startsWith('det_')
            ? 'det'
            : n.startsWith('chex_seg') || n.startsWith('seg_')
              ? 'seg'
              : 'other';
      ms[key] += e.dur / 1000 / runs;
    }
    const E = ms.encoder;
    const H = ms.cls + ms.det + ms.seg;
    return {
      ...Object.fromEntries(Object.entries(ms).map(([k, v]) => [`${k}Ms`, v])),
      predictedSpeedup: (3 * E + H) / (E + H),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function composed(tf, encoder, heads) {
  const image = tf.input({ shape: [SIZE, SIZE, 1] });
  const features = encoder.apply(image);
  return tf.model({ inputs: image, outputs: heads.map((h) => h.apply(features)) });
}

export async function run(ctx) {
  const loadAtStart = loadavg()[0];
  const core = await ctx.importPackage('core');
  const { builtinPlan } = await ctx.importPackage('trainer');
  const { buildModel, ModelConfigSchema } = await ctx.importPackage('model');
  const data = await ctx.importPackage('data');
  const rt = await ctx.importPackage('runtime');
  const ex = await ctx.importPackage('export');
  const { tf } = core;

  const images = imageSet(data, ctx.repoRoot);
  if (images === null) return { skipped: 'no real images in ../shared/realdata' };
  await core.initBackend('cpu'); // model building and export only; timing below uses onnxruntime / wasm explicitly

  // The project's default preset, as the trainer builds it (no gate: the pipeline section below sets its own).
  const preset = builtinPlan('multichexnet-joint', { size: 'full', seed: 1 });
  SIZE = preset.imageSize;
  const modelConfig = (encoder) =>
    ModelConfigSchema.parse({ ...preset.model, encoder: encoder ?? preset.model.encoder, gate: undefined });
  const built = buildModel(modelConfig(), 1);
  const { encoder } = built;
  const { cls, det, seg } = built.heads;
  const label = encoder.config.preset;
  const pre = { size: SIZE };

  // Inputs: the set preprocessed exactly as the pipeline does.
  const inputs = images.map((img) => data.preprocessImage(img, pre).input);
  const batchOf = (from, n) => {
    const out = new Float32Array(n * SIZE * SIZE);
    for (let i = 0; i < n; i++) out.set(inputs[(from + i) % inputs.length], i * SIZE * SIZE);
    return { data: out, dims: [n, SIZE, SIZE, 1] };
  };
  const it = (n) => (ctx.quick ? Math.max(2, Math.ceil(n / 4)) : n);

  // ---- models
  const mtlBytes = await ex.exportModel(built, { preprocessing: pre });
  const singleBytes = {};
  for (const [task, head] of [
    ['cls', cls],
    ['det', det],
    ['seg', seg],
  ]) {
    singleBytes[task] = await ex.exportOnnx(composed(tf, encoder, [head]), { outputs: [{ name: `${task}_out` }] });
  }
  const mtl = await rt.loadModel(mtlBytes, { backend: 'node' });
  const singles = {};
  for (const t of Object.keys(singleBytes)) singles[t] = await rt.loadModel(singleBytes[t], { backend: 'node' });
  ctx.log(
    `models: MTL ${(mtlBytes.length / 2 ** 20).toFixed(1)} MiB, params encoder ${encoder.countParams()}, cls ${cls.countParams()}, det ${det.countParams()}, seg ${seg.countParams()}`,
  );

  // ---- 1. one MTL pass vs three single-task models (onnxruntime-node). The speedup is (3E + H) / (E + H) for
  // encoder cost E and head costs H, so it is also measured with the paper's DenseNet-121 encoder (same heads).
  const mtlVsSingle = {};
  const compare = async (label, m, s) => {
    for (const bs of [1, 16]) {
      const run = (model) => (r) => rt.runModel(model, { image: batchOf(r * bs, bs) });
      const t = await interleaved(
        { mtl: run(m), cls: run(s.cls), det: run(s.det), seg: run(s.seg) },
        { warmup: 2, rounds: it(bs === 1 ? 30 : 8) },
      );
      const threeMs = t.cls.medianMs + t.det.medianMs + t.seg.medianMs;
      const threeP10 = t.cls.p10Ms + t.det.p10Ms + t.seg.p10Ms;
      mtlVsSingle[label] ??= {};
      mtlVsSingle[label][`batch${bs}`] = {
        mtlMs: t.mtl.medianMs,
        singleMs: { cls: t.cls.medianMs, det: t.det.medianMs, seg: t.seg.medianMs },
        threeSingleMs: threeMs,
        speedup: threeMs / t.mtl.medianMs,
        speedupP10: threeP10 / t.mtl.p10Ms,
        target: 2.5,
        meetsTarget: threeMs / t.mtl.medianMs >= 2.5,
      };
      ctx.log(
        `${label} batch ${bs}: MTL ${t.mtl.medianMs.toFixed(1)} ms vs three singles ${threeMs.toFixed(1)} ms -> x${(threeMs / t.mtl.medianMs).toFixed(2)}`,
      );
    }
  };
  await compare(label, mtl, singles);
  mtlVsSingle[label].heads = { det: preset.model.det, seg: preset.model.seg };
  mtlVsSingle[label].kernelShares = await kernelShares(mtlBytes, batchOf(0, 16), ctx.quick ? 2 : 4);
  if (!ctx.quick) {
    const bigModel = buildModel(modelConfig({ preset: 'densenet121' }), 1);
    const big = bigModel.encoder;
    const bHeads = { cls: bigModel.heads.cls, det: bigModel.heads.det, seg: bigModel.heads.seg };
    const bMtl = await rt.loadModel(await ex.exportModel(bigModel, { preprocessing: pre }), { backend: 'node' });
    const bSingles = {};
    for (const [task, head] of Object.entries(bHeads))
      bSingles[task] = await rt.loadModel(
        await ex.exportOnnx(composed(tf, big, [head]), { outputs: [{ name: `${task}_out` }] }),
        { backend: 'node' },
      );
    await compare('densenet121', bMtl, bSingles);
    await bMtl.dispose();
    for (const m of Object.values(bSingles)) await m.dispose();
  }

  // ---- 2. onnxruntime-node vs tfjs (wasm) on the same model
  const full = composed(tf, encoder, [cls, det, seg]);
  const wasm = await core.initBackend('wasm');
  const onnxVsTfjs = { tfjsBackend: wasm.name, tfjsThreads: wasm.threads };
  for (const bs of [1, 16]) {
    const t = await interleaved(
      {
        onnxruntimeNode: (r) => rt.runModel(mtl, { image: batchOf(r * bs, bs) }),
        tfjsWasm: (r) => {
          const b = batchOf(r * bs, bs);
          tf.tidy(() => {
            for (const o of full.predict(tf.tensor4d(b.data, b.dims))) o.dataSync();
          });
        },
      },
      { warmup: 1, rounds: ctx.quick ? 2 : bs === 1 ? 6 : 3 },
    );
    onnxVsTfjs[`batch${bs}`] = {
      onnxruntimeNodeMs: t.onnxruntimeNode.medianMs,
      tfjsWasmMs: t.tfjsWasm.medianMs,
      speedup: t.tfjsWasm.medianMs / t.onnxruntimeNode.medianMs,
    };
    ctx.log(
      `batch ${bs}: onnxruntime-node ${t.onnxruntimeNode.medianMs.toFixed(1)} ms vs tfjs-wasm ${t.tfjsWasm.medianMs.toFixed(1)} ms`,
    );
  }

  // ---- 3. gated vs ungated pipeline, 70% negatives; 4. images/s at batch 1 and 16
  const pipelineModels = await ex.exportPipeline(built, { preprocessing: pre });
  const probe = await rt.createPipeline({ model: pipelineModels, gate: { enabled: false } });
  const gateProbs = (await probe.runBatch(images)).map((r) => r.gate.probability).sort((a, b) => a - b);
  await probe.dispose();
  const threshold = (gateProbs[13] + gateProbs[14]) / 2; // 14 of 20 below: 70% negatives
  const gating = { images: images.length, threshold };
  const throughput = { model: {}, pipeline: {} };
  for (const bs of [1, 16]) {
    const gated = await rt.createPipeline({ model: pipelineModels, gate: { threshold }, batchSize: bs });
    const ungated = await rt.createPipeline({ model: pipelineModels, gate: { enabled: false }, batchSize: bs });
    let positives = 0;
    const t = await interleaved(
      {
        gated: async () => {
          positives = (await gated.runBatch(images)).filter((r) => r.gate.positive).length;
        },
        ungated: () => ungated.runBatch(images),
      },
      { warmup: 1, rounds: it(5) },
    );
    const g = t.gated;
    const u = t.ungated;
    gating[`batch${bs}`] = {
      negativesFraction: 1 - positives / images.length,
      gatedMs: g.medianMs,
      ungatedMs: u.medianMs,
      gatedImagesPerSecond: (images.length * 1000) / g.medianMs,
      ungatedImagesPerSecond: (images.length * 1000) / u.medianMs,
      speedup: u.medianMs / g.medianMs,
    };
    throughput.pipeline[`batch${bs}`] = {
      gatedImagesPerSecond: gating[`batch${bs}`].gatedImagesPerSecond,
      ungatedImagesPerSecond: gating[`batch${bs}`].ungatedImagesPerSecond,
    };
    throughput.model[`batch${bs}`] = {
      imagesPerSecond: (bs * 1000) / mtlVsSingle[label][`batch${bs}`].mtlMs,
      onnxruntime: 'node',
    };
    ctx.log(
      `pipeline batch ${bs}: gated ${g.medianMs.toFixed(0)} ms vs ungated ${u.medianMs.toFixed(0)} ms for ${images.length} images`,
    );
    await gated.dispose();
    await ungated.dispose();
  }

  await mtl.dispose();
  for (const s of Object.values(singles)) await s.dispose();
  return {
    // Other processes share these 2 cores; rounds are interleaved so load falls on all alternatives alike.
    loadAverage1m: { atStart: loadAtStart, atEnd: loadavg()[0] },
    model: {
      encoder: label,
      inputSize: SIZE,
      det: preset.model.det,
      seg: preset.model.seg,
      heads: ['cls', 'det', 'seg'],
      onnxMiB: mtlBytes.length / 2 ** 20,
    },
    onnxruntime: { backend: 'onnxruntime-node (cpu EP, default intra-op threads)' },
    mtlVsSingle,
    onnxVsTfjs,
    gating,
    throughput,
  };
}
