// `npm run ood:measure -- [--run runs/quickstart] [--out results/ood-calibration.json] [--per-kind 30] [--films 120]`
//
// Measures a trained run's out-of-distribution refusal and probability calibration and writes one JSON artifact:
//  1. the deployed model (the run's exported pipeline on onnxruntime-node, policy `flag` so every score is seen):
//     false refusals on the real frontal films of ../shared/realdata (read in place) and on held-out synthetic
//     frontal films (a seed the run never trained on), refusals on each kind of non-chest image @multichexnet/synth
//     draws (lateral view, hand, knee, CT slice, noise, text, textures);
//  2. the choice of the score: the same sets scored by variants (which encoder levels are pooled, how many
//     principal components, a k-nearest-neighbour distance instead), each fitted on the run's training films with
//     its threshold chosen on its validation films, from the run's tfjs weights;
//  3. the calibration the run recorded (temperature.json): expected calibration error before / after per head.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { auroc, createRng, deriveSeed, initBackend, tf, type FeatureLevel } from '@multichexnet/core';
import { decodeImageAsync, preprocessImage, type DecodedImage, type PreprocessConfigInput } from '@multichexnet/data';
import { createPipeline, PIPELINE_FILES } from '@multichexnet/runtime';
import {
  FINDING_KINDS,
  NON_CHEST_KINDS,
  renderFilm,
  renderNonChest,
  type FindingKind,
  type NonChestKind,
} from '@multichexnet/synth';
import { loadMultiCheXNet } from '@multichexnet/model';
import {
  collectOutputs,
  enoughForRate,
  fitOodStatistics,
  oodScore,
  oodThreshold,
  openTrainingData,
  parsePlan,
  pooledFeatures,
  type EvalSets,
} from '@multichexnet/trainer';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// node's own argument parser: an unknown or misspelt flag is an error, not silently ignored
const { values: opt } = parseArgs({
  options: {
    run: { type: 'string', default: 'runs/quickstart' },
    out: { type: 'string', default: 'results/ood-calibration.json' },
    'per-kind': { type: 'string', default: '30' },
    films: { type: 'string', default: '120' },
  },
});
const runDir = resolve(root, opt.run);
const outFile = resolve(root, opt.out);
const perKind = Number(opt['per-kind']);
const filmCount = Number(opt.films);
const SEED = 'ood-measure';
const REALDATA = resolve(root, '..', 'shared', 'realdata');
const REAL_FRONTAL = [
  '00000001_000.png',
  '00027426_000.png',
  '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
  'Fake_MONOHR1.dcm',
  '16747_3_1.jpg',
  'covid-19-pneumonia-58-prior.jpg',
];
const FRONTAL_FINDINGS = FINDING_KINDS.filter(
  (k) => !['Covid19', 'ViralPneumonia', 'BacterialPneumonia', 'FungalPneumonia', 'Tuberculosis'].includes(k),
);

const t0 = performance.now();
const loadStart = os.loadavg()[0]!;
if (!existsSync(join(runDir, PIPELINE_FILES.stage1))) {
  console.error(`${runDir} has no ${PIPELINE_FILES.stage1}: train and export a run first (npm run quickstart)`);
  process.exit(1);
}
await initBackend('auto');
const plan = parsePlan(JSON.parse(await readFile(join(runDir, 'plan.json'), 'utf8')));
const size = plan.imageSize;
const preprocess: PreprocessConfigInput = { ...(plan.preprocess ?? {}), size };

// ---- the image sets
const gray = (w: number, h: number, pixels: Uint8Array): DecodedImage => ({
  width: w,
  height: h,
  data: pixels,
  maxValue: 255,
});
const real: { name: string; image: DecodedImage }[] = [];
for (const f of REAL_FRONTAL) {
  const p = join(REALDATA, f);
  if (!existsSync(p)) continue;
  const bytes = new Uint8Array(await readFile(p));
  real.push({ name: f, image: (await decodeImageAsync(bytes, f)).image });
}
const films = Array.from({ length: filmCount }, (_, i) => {
  const rng = createRng(deriveSeed(deriveSeed(0, SEED), `film/${i}`));
  const findings = rng
    .shuffle(FRONTAL_FINDINGS)
    .slice(0, rng.int(0, 3))
    .map((kind) => ({ kind: kind as FindingKind }));
  const f = renderFilm(
    { size, view: rng.pick(['PA', 'AP'] as const), sex: rng.bernoulli(0.5) ? 'M' : 'F', findings },
    rng,
  );
  return gray(f.width, f.height, f.pixels);
});
const nonChest = Object.fromEntries(
  NON_CHEST_KINDS.map((kind) => [
    kind,
    Array.from({ length: perKind }, (_, i) => {
      const img = renderNonChest(kind, size, createRng(deriveSeed(deriveSeed(0, SEED), `${kind}/${i}`)));
      return gray(img.width, img.height, img.pixels);
    }),
  ]),
) as Record<NonChestKind, DecodedImage[]>;

// ---- 1. the deployed model
const pipeline = await createPipeline({ model: runDir, backend: 'node', ood: 'flag' });
const spec = pipeline.metadata.ood;
if (spec === null) {
  console.error(`${runDir}'s model records no OOD statistics: re-export it (multichexnet export ${runDir})`);
  process.exit(1);
}
const summary = (scores: number[], threshold: number) => {
  const s = [...scores].sort((a, b) => a - b);
  const refused = scores.filter((v) => !(v <= threshold)).length;
  return {
    count: scores.length,
    refused,
    rate: scores.length > 0 ? refused / scores.length : Number.NaN,
    min: s[0],
    median: s[Math.floor(s.length / 2)],
    max: s[s.length - 1],
  };
};
const scoresOf = async (images: DecodedImage[]): Promise<number[]> =>
  (await pipeline.runBatch(images)).map((r) => r.ood!.score);
const realScores = await scoresOf(real.map((r) => r.image));
const filmScores = await scoresOf(films);
const kindScores: Record<string, number[]> = {};
for (const kind of NON_CHEST_KINDS) kindScores[kind] = await scoresOf(nonChest[kind]);
await pipeline.dispose();
const allOut = Object.values(kindScores).flat();
const deployed = {
  threshold: spec.threshold,
  targetFalseRefusal: spec.targetFalseRefusal,
  levels: spec.levels,
  components: spec.components,
  fittedOn: spec.fittedOn,
  thresholdOn: spec.thresholdOn,
  realFrontal: {
    ...summary(realScores, spec.threshold),
    files: real.map((r, i) => ({ file: r.name, score: realScores[i], refused: !(realScores[i]! <= spec.threshold) })),
  },
  heldOutSynthetic: summary(filmScores, spec.threshold),
  nonChest: Object.fromEntries(NON_CHEST_KINDS.map((k) => [k, summary(kindScores[k]!, spec.threshold)])),
  nonChestAll: summary(allOut, spec.threshold),
  auroc: auroc([...filmScores.map(() => 0), ...allOut.map(() => 1)], [...filmScores, ...allOut]),
  // what recording the statistics costs: as graph weights (float32: mean, U and U^T, inverse variances) against the
  // same numbers as JSON text in the metadata
  storage: {
    graphWeightBytes: 4 * (spec.dimensions * (2 * spec.components + 1) + spec.components + 2),
    jsonBytes: existsSync(join(runDir, 'ood.json'))
      ? JSON.stringify(
          (JSON.parse(await readFile(join(runDir, 'ood.json'), 'utf8')) as { statistics: unknown }).statistics,
        ).length
      : null,
  },
};

// ---- 2. variants of the score, from the run's tfjs weights and its own splits
const model = await loadMultiCheXNet(join(runDir, 'weights'));
const recorded = JSON.parse(await readFile(join(runDir, 'data.json'), 'utf8')) as {
  roots: Record<string, string>;
  split: never;
};
const data = await openTrainingData(recorded.roots, recorded.split);
const LEVELS: FeatureLevel[] = ['c2', 'c3', 'c4', 'c5'];
const sets = (split: 'train' | 'val'): EvalSets =>
  Object.fromEntries(Object.entries(data).map(([s, d]) => [s, d![split]]));
const trainRows = (
  await collectOutputs(model, sets('train'), {
    imageSize: size,
    preprocess: plan.preprocess ?? {},
    features: LEVELS,
    maxImages: 600,
  })
).features;
const valRows = (
  await collectOutputs(model, sets('val'), { imageSize: size, preprocess: plan.preprocess ?? {}, features: LEVELS })
).features;
const rowsOf = (images: DecodedImage[]): Float32Array[] => {
  const out: Float32Array[] = [];
  for (let i = 0; i < images.length; i += 16) {
    const chunk = images.slice(i, i + 16);
    const batch = new Float32Array(chunk.length * size * size);
    chunk.forEach((im, k) => batch.set(preprocessImage(im, preprocess).input, k * size * size));
    const rows = tf.tidy(() =>
      pooledFeatures(model.encoder.apply(tf.tensor4d(batch, [chunk.length, size, size, 1])), LEVELS),
    );
    const d = rows.dataSync() as Float32Array;
    const D = rows.shape[1];
    rows.dispose();
    for (let k = 0; k < chunk.length; k++) out.push(d.slice(k * D, (k + 1) * D));
  }
  return out;
};
const filmRows = rowsOf(films);
const realRows = rowsOf(real.map((r) => r.image));
const kindRows = Object.fromEntries(NON_CHEST_KINDS.map((k) => [k, rowsOf(nonChest[k])])) as Record<
  NonChestKind,
  Float32Array[]
>;
const widths = Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<FeatureLevel, number>;
{
  const probe = tf.tidy(() => model.encoder.apply(tf.zeros([1, size, size, 1]) as tf.Tensor4D));
  for (const l of LEVELS) widths[l] = probe[l].shape[3];
  tf.dispose(Object.values(probe));
}
model.dispose();
const select = (rows: Float32Array[], levels: FeatureLevel[]): Float32Array[] => {
  const ranges = levels.map((l) => {
    const start = LEVELS.slice(0, LEVELS.indexOf(l)).reduce((a, x) => a + widths[x], 0);
    return [start, start + widths[l]] as const;
  });
  return rows.map((r) => Float32Array.from(ranges.flatMap(([a, b]) => Array.from(r.subarray(a, b)))));
};
const cosineKnn = (train: Float32Array[], k: number) => {
  const norm = (r: Float32Array) => {
    const n = Math.hypot(...r);
    return Float32Array.from(r, (v) => v / n);
  };
  const t = train.map(norm);
  return (r: Float32Array): number => {
    const q = norm(r);
    const d = t.map((x) => 1 - x.reduce((a, v, j) => a + v * q[j]!, 0)).sort((a, b) => a - b);
    return d[Math.min(k, d.length) - 1]!;
  };
};
const variants: {
  name: string;
  levels: FeatureLevel[];
  score: (train: Float32Array[]) => (r: Float32Array) => number;
}[] = [];
for (const levels of [['c5'], ['c4', 'c5'], ['c3', 'c4', 'c5'], ['c2', 'c3', 'c4', 'c5']] as FeatureLevel[][]) {
  for (const k of [0, 8, 32])
    variants.push({
      name: `ppca k=${k} ${levels.join('+')}`,
      levels,
      score: (train: Float32Array[]) => {
        const s = fitOodStatistics(train, levels, { components: Math.max(1, k) });
        const st = k === 0 ? { ...s, components: [], variances: [] } : s;
        return (r) => oodScore(r, st);
      },
    });
}
variants.push({ name: 'knn k=5 cosine c4+c5', levels: ['c4', 'c5'], score: (train) => cosineKnn(train, 5) });
const methods = variants.map((v) => {
  const train = select(trainRows, v.levels);
  const score = v.score(train);
  let val = select(valRows, v.levels).map(score);
  // as the deployed fit does: too few validation films for the rate -> the out-of-fold training scores join them
  if (!enoughForRate(val.length, spec.targetFalseRefusal)) {
    for (let f = 0; f < 5; f++) {
      const s = v.score(train.filter((_, i) => i % 5 !== f));
      val = [...val, ...train.filter((_, i) => i % 5 === f).map(s)];
    }
  }
  const { threshold } = oodThreshold(val, spec.targetFalseRefusal);
  const film = select(filmRows, v.levels).map(score);
  const realS = select(realRows, v.levels).map(score);
  const perKindRate = Object.fromEntries(
    NON_CHEST_KINDS.map((k) => [k, summary(select(kindRows[k], v.levels).map(score), threshold).rate]),
  );
  const out = NON_CHEST_KINDS.flatMap((k) => select(kindRows[k], v.levels).map(score));
  return {
    name: v.name,
    auroc: auroc([...film.map(() => 0), ...out.map(() => 1)], [...film, ...out]),
    falseRefusalSynthetic: summary(film, threshold).rate,
    falseRefusalReal: summary(realS, threshold).rate,
    refusalNonChest: summary(out, threshold).rate,
    refusalByKind: perKindRate,
  };
});

// ---- 3. calibration recorded by the run
const temperature = existsSync(join(runDir, 'temperature.json'))
  ? (JSON.parse(await readFile(join(runDir, 'temperature.json'), 'utf8')) as {
      spec: unknown;
      val: Record<string, { before: { ece: number; count: number }; after: { ece: number } }>;
      test?: Record<string, { before: { ece: number; count: number }; after: { ece: number } }>;
    })
  : null;
const ece = (r: Record<string, { before: { ece: number; count: number }; after: { ece: number } }> | undefined) =>
  r === undefined
    ? null
    : Object.fromEntries(
        Object.entries(r).map(([h, x]) => [h, { before: x.before.ece, after: x.after.ece, samples: x.before.count }]),
      );

const result = {
  format: 'multichexnet-ood-calibration',
  command: `npm run ood:measure -- ${process.argv.slice(2).join(' ')}`.trim(),
  run: {
    dir: runDir.startsWith(root) ? runDir.slice(root.length + 1) : runDir,
    plan: plan.name,
    imageSize: size,
    seed: plan.seed,
    trainingSteps: plan.phases.reduce((a, p) => a + p.steps, 0),
    films: { train: trainRows.length, val: valRows.length },
  },
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    node: process.versions.node,
    loadAverage1m: { start: loadStart, end: os.loadavg()[0] },
  },
  seconds: (performance.now() - t0) / 1000,
  sets: { realFrontal: real.length, heldOutSynthetic: films.length, nonChestPerKind: perKind, seed: SEED },
  deployed,
  methods,
  calibration:
    temperature === null
      ? null
      : { temperatures: temperature.spec, eceVal: ece(temperature.val), eceTest: ece(temperature.test) },
};
await mkdir(dirname(outFile), { recursive: true });
await writeFile(
  outFile,
  `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'number' ? Number(v.toPrecision(6)) : v), 2)}\n`,
);
console.log(`wrote ${outFile} in ${result.seconds.toFixed(0)} s`);
console.log(
  `deployed: threshold ${deployed.threshold.toFixed(3)}; false refusals real ${deployed.realFrontal.refused}/${deployed.realFrontal.count}, synthetic ${deployed.heldOutSynthetic.refused}/${deployed.heldOutSynthetic.count}; non-chest refused ${deployed.nonChestAll.refused}/${deployed.nonChestAll.count}`,
);
for (const m of methods)
  console.log(
    `${m.name.padEnd(28)} AUROC ${m.auroc.toFixed(3)}  false refusal synth ${m.falseRefusalSynthetic.toFixed(3)} real ${m.falseRefusalReal.toFixed(3)}  non-chest refused ${m.refusalNonChest.toFixed(3)}`,
  );
