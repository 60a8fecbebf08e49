import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DataError,
  initBackend,
  scaleProbability,
  tf,
  unscaleProbability,
  type GrayImage,
  type OodStatistics,
  type TaskHead,
} from '@multichexnet/core';
import { preprocessImage } from '@multichexnet/data';
import { createMultiCheXNet } from '@multichexnet/model';
import { createPipeline, type Pipeline } from '@multichexnet/runtime';
import { metadataFromProps } from '@multichexnet/runtime/format';
import { exportPipeline, exportModel, type PipelineModels } from '../src/index';
import { buildBlocks } from './helpers/models';

/*
 * OOD refusal and calibrated probabilities through the exported graphs on onnxruntime-node: the in-graph score
 * against an independent float64 computation, the refuse / flag / off policies, temperatures applied with
 * unchanged decisions, and the errors of bad metadata.
 */

const SIZE = 64;
const LEVELS = ['c4', 'c5'] as const;
let blocks: ReturnType<typeof buildBlocks>;
let stats: OodStatistics;
let threshold: number;
let plain: PipelineModels;
let withOod: PipelineModels;
let calibrated: PipelineModels;
const TEMPS = { det: 1.7, seg: 0.6 };

/** An X-ray-like smooth image: two dark lung fields in a bright body, varied by `seed`. */
function filmLike(seed: number): GrayImage {
  const w = 80;
  const h = 80;
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const lung = (cx: number) =>
        Math.exp(-(((x - cx) / (w * 0.13)) ** 2 + ((y - h * (0.45 + 0.01 * (seed % 5))) / (h * 0.25)) ** 2));
      data[y * w + x] = Math.round(Math.min(255, 170 + (seed % 7) * 3 - 120 * (lung(w * 0.32) + lung(w * 0.68))));
    }
  }
  return { width: w, height: h, data };
}

/** Seeded white noise. */
function noise(seed: number): GrayImage {
  const data = new Uint8Array(80 * 80);
  let s = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width: 80, height: 80, data };
}

/** Pooled c4 + c5 features [D] of images, by tfjs (what the graph's ood_features must equal). */
function pooled(images: GrayImage[]): Float64Array[] {
  const pre = images.map((im) => preprocessImage({ ...im, maxValue: 255 }, { size: SIZE }).input);
  const x = tf.tensor4d(Float32Array.from(pre.flatMap((p) => Array.from(p))), [images.length, SIZE, SIZE, 1]);
  const f = blocks.encoder.apply(x);
  const rows = tf.tidy(() =>
    tf.concat(
      LEVELS.map((l) => tf.mean(f[l], [1, 2])),
      1,
    ),
  );
  const data = rows.dataSync();
  const D = rows.shape[1]!;
  tf.dispose([x, rows, ...Object.values(f)]);
  return images.map((_, b) => Float64Array.from(data.subarray(b * D, (b + 1) * D)));
}

/** Seeded orthonormal rows (Gram-Schmidt), k x D. */
function orthonormal(k: number, D: number): number[][] {
  const rows: number[][] = [];
  let s = 7;
  const rand = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  while (rows.length < k) {
    const v = Array.from({ length: D }, rand);
    for (const u of rows) {
      const d = u.reduce((a, ui, j) => a + ui * v[j]!, 0);
      u.forEach((ui, j) => (v[j]! -= d * ui));
    }
    const n = Math.hypot(...v);
    rows.push(v.map((x) => x / n));
  }
  return rows;
}

/** The score by its definition, in float64. */
function referenceScore(x: Float64Array, st: OodStatistics): number {
  const D = st.mean.length;
  const c = Array.from(x, (v, j) => v - st.mean[j]!);
  const z = st.components.map((u) => u.reduce((a, uj, j) => a + uj * c[j]!, 0));
  const r = c.map((cj, j) => cj - st.components.reduce((a, u, i) => a + z[i]! * u[j]!, 0));
  return (
    (z.reduce((a, zi, i) => a + (zi * zi) / st.variances[i]!, 0) +
      r.reduce((a, v) => a + v * v, 0) / st.residualVariance) /
    D
  );
}

/** Two masks agree but for pixels on a foreground border (bilinear resizing of calibrated vs raw probabilities). */
function sameMaskUpToBorders(
  a: { width: number; height: number; data: Uint8Array } | null,
  b: { width: number; height: number; data: Uint8Array } | null,
): void {
  expect(a === null).toBe(b === null);
  if (a === null || b === null) return;
  let differ = 0;
  let fg = 0;
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] !== b.data[i]) differ++;
    fg += b.data[i]!;
  }
  expect(differ).toBeLessThanOrEqual(Math.max(4, 0.05 * fg));
}

const films = Array.from({ length: 12 }, (_, i) => filmLike(i));
const noises = Array.from({ length: 4 }, (_, i) => noise(i + 1));

beforeAll(async () => {
  await initBackend('cpu');
  blocks = buildBlocks('densenet-tiny', 5);
  const rows = pooled(films);
  const D = rows[0]!.length;
  const mean = Array.from({ length: D }, (_, j) => rows.reduce((a, r) => a + r[j]!, 0) / rows.length);
  const variance =
    rows.reduce((a, r) => a + r.reduce((b, v, j) => b + (v - mean[j]!) ** 2, 0), 0) / (rows.length - 1) / D;
  stats = {
    levels: [...LEVELS],
    mean,
    components: orthonormal(3, D),
    variances: [4 * variance, 2 * variance, 1.5 * variance],
    residualVariance: variance,
    count: films.length,
  };
  threshold = Math.max(...rows.map((r) => referenceScore(r, stats))) * 1.05;
  const ood = { statistics: stats, threshold, targetFalseRefusal: 0.05, thresholdFilms: films.length };
  plain = await exportPipeline(blocks.model, { preprocessing: { size: SIZE } });
  withOod = await exportPipeline(blocks.model, { preprocessing: { size: SIZE }, ood });
  calibrated = await exportPipeline(blocks.model, {
    preprocessing: { size: SIZE },
    ood,
    temperature: {
      split: 'val',
      tasks: {
        cls: {
          temperature: Object.fromEntries(blocks.cls.config.classes.map((c, i) => [c, 0.5 + 0.25 * i])),
          samples: 100,
        },
        det: { temperature: TEMPS.det, samples: 40 },
        seg: { temperature: TEMPS.seg, samples: 900 },
      },
    },
  });
}, 120_000);

afterAll(() => blocks.dispose());

const open = (m: PipelineModels, extra: Record<string, unknown> = {}): Promise<Pipeline> =>
  createPipeline({
    model: { stage1: m.stage1, stage2: m.stage2 },
    backend: 'node',
    gate: { enabled: false },
    ...extra,
  });

describe('OOD score in the exported graph', () => {
  it('equals the float64 score of the pooled tfjs features, and records its threshold', async () => {
    const p = await open(withOod, { ood: 'flag' });
    try {
      const images = [...films.slice(0, 3), ...noises.slice(0, 2)];
      const rows = pooled(images);
      const results = await p.runBatch(images);
      results.forEach((r, i) => {
        const ref = referenceScore(rows[i]!, stats);
        expect(Math.abs(r.ood!.score - ref) / ref, `image ${i}`).toBeLessThan(1e-3);
        expect(r.ood!.threshold).toBe(threshold);
      });
      expect(p.metadata.ood).toMatchObject({
        output: 'ood_score',
        method: 'ppca-mahalanobis',
        levels: ['c4', 'c5'],
        components: 3,
        threshold,
        fittedOn: films.length,
      });
      expect(p.metadata.outputs.map((o) => o.name)).toEqual(expect.arrayContaining(['ood_features', 'ood_score']));
    } finally {
      await p.dispose();
    }
  });

  it('refuses by default: an OOD image gets no findings and skips stage 2; in-distribution images are untouched', async () => {
    const [ref, p] = [await open(plain), await open(withOod)];
    try {
      const images = [films[0]!, noises[0]!, films[5]!, noises[1]!];
      const [base, got] = [await ref.runBatch(images), await p.runBatch(images)];
      for (const i of [0, 2]) {
        expect(got[i]!.refused).toBeUndefined();
        expect(got[i]!.ood!.outOfDistribution).toBe(false);
        expect(got[i]!.probabilities).toEqual(base[i]!.probabilities);
        expect(got[i]!.boxes).toEqual(base[i]!.boxes);
        expect(got[i]!.calibrated).toBe(false);
      }
      for (const i of [1, 3]) {
        expect(got[i]!.refused).toBe(true);
        expect(got[i]!.ood!.score).toBeGreaterThan(threshold);
        expect(got[i]!.probabilities).toEqual({});
        expect(got[i]!.boxes).toEqual([]);
        expect(got[i]!.mask).toBeNull();
        expect(got[i]!.timings.stage2Ms).toBe(0);
      }
    } finally {
      await ref.dispose();
      await p.dispose();
    }
  });

  it("'flag' keeps the findings and marks the image; 'off' leaves the verdict out; a threshold override applies", async () => {
    const [flag, off, loose] = [
      await open(withOod, { ood: 'flag' }),
      await open(withOod, { ood: 'off' }),
      await open(withOod, { oodThreshold: 1e9 }),
    ];
    try {
      const [f] = await flag.runBatch([noises[0]!]);
      expect(f!.refused).toBeUndefined();
      expect(f!.ood!.outOfDistribution).toBe(true);
      expect(Object.keys(f!.probabilities!)).toHaveLength(14);
      const [o] = await off.runBatch([noises[0]!]);
      expect(o!.ood).toBeUndefined();
      expect(Object.keys(o!.probabilities!)).toHaveLength(14);
      const [l] = await loose.runBatch([noises[0]!]);
      expect(l!.refused).toBeUndefined();
      expect(l!.ood).toMatchObject({ threshold: 1e9, outOfDistribution: false });
    } finally {
      await Promise.all([flag.dispose(), off.dispose(), loose.dispose()]);
    }
  });

  it('the single graph scores the same as the pipeline', async () => {
    const single = await exportModel(blocks.model, {
      preprocessing: { size: SIZE },
      ood: { statistics: stats, threshold, targetFalseRefusal: 0.05, thresholdFilms: 12 },
    });
    const [a, b] = [
      await createPipeline({ model: { model: single }, backend: 'node', gate: { enabled: false }, ood: 'flag' }),
      await open(withOod, { ood: 'flag' }),
    ];
    try {
      const images = [films[1]!, noises[2]!];
      const [x, y] = [await a.runBatch(images), await b.runBatch(images)];
      images.forEach((_, i) => expect(x[i]!.ood!.score).toBeCloseTo(y[i]!.ood!.score, 4));
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });
});

describe('calibrated probabilities', () => {
  it('applies the recorded temperatures; decisions and gate stay as without them', async () => {
    const [ref, p] = [await open(withOod, { ood: 'off' }), await open(calibrated, { ood: 'off' })];
    try {
      const images = [films[2]!, films[7]!];
      const [base, got] = [await ref.runBatch(images), await p.runBatch(images)];
      const T = p.metadata.temperature!.tasks.cls!.temperature as Record<string, number>;
      // the recorded decision thresholds are on the calibrated scale
      const detOf = (m: Pipeline) => m.metadata.decode.det as { scoreThreshold: number };
      expect(detOf(p).scoreThreshold).toBeCloseTo(scaleProbability(detOf(ref).scoreThreshold, TEMPS.det), 12);
      images.forEach((_, i) => {
        expect(base[i]!.calibrated).toBe(false);
        expect(got[i]!.calibrated).toBe(true);
        for (const [c, raw] of Object.entries(base[i]!.probabilities!))
          expect(got[i]!.probabilities![c]).toBeCloseTo(scaleProbability(raw, T[c]!), 6);
        expect(got[i]!.gate).toEqual(base[i]!.gate);
        expect(got[i]!.boxes!.map((b) => ({ ...b, score: 0 }))).toEqual(
          base[i]!.boxes!.map((b) => ({ ...b, score: 0 })),
        );
        got[i]!.boxes!.forEach((b, k) =>
          expect(b.score).toBeCloseTo(scaleProbability(base[i]!.boxes![k]!.score, TEMPS.det), 6),
        );
        sameMaskUpToBorders(got[i]!.mask ?? null, base[i]!.mask ?? null);
      });
    } finally {
      await ref.dispose();
      await p.dispose();
    }
  });

  it('takes a caller threshold on the calibrated scale (det score, seg mask)', async () => {
    const q = 0.3;
    const [ref, p] = [
      await open(withOod, {
        ood: 'off',
        decode: {
          det: { scoreThreshold: unscaleProbability(q, TEMPS.det) },
          seg: { threshold: unscaleProbability(q, TEMPS.seg) },
        },
      }),
      await open(calibrated, { ood: 'off', decode: { det: { scoreThreshold: q }, seg: { threshold: q } } }),
    ];
    try {
      const [a, b] = [await ref.runBatch([films[3]!]), await p.runBatch([films[3]!])];
      expect(b[0]!.boxes!.length).toBe(a[0]!.boxes!.length);
      sameMaskUpToBorders(b[0]!.mask ?? null, a[0]!.mask ?? null);
      b[0]!.boxes!.forEach((box) => expect(box.score).toBeGreaterThanOrEqual(q - 1e-6));
    } finally {
      await ref.dispose();
      await p.dispose();
    }
  });
});

describe('bad OOD / calibration metadata', () => {
  const base = [
    { key: 'multichexnet.format', value: '"multichexnet-onnx/1"' },
    { key: 'multichexnet.role', value: '"model"' },
    { key: 'multichexnet.inputs', value: '[]' },
    { key: 'multichexnet.outputs', value: '[]' },
  ];
  const ood = {
    output: 'ood_score',
    method: 'ppca-mahalanobis',
    levels: ['c5'],
    dimensions: 8,
    components: 2,
    threshold: 2,
    targetFalseRefusal: 0.02,
    fittedOn: 10,
    thresholdOn: 5,
  };

  it('names the field of a bad OOD threshold or temperature', () => {
    expect(() =>
      metadataFromProps(
        [...base, { key: 'multichexnet.ood', value: JSON.stringify({ ...ood, threshold: -1 }) }],
        'm.onnx',
      ),
    ).toThrow(/Model metadata does not validate.*multichexnet\.ood\.threshold/s);
    expect(() =>
      metadataFromProps(
        [
          ...base,
          {
            key: 'multichexnet.temperature',
            value: JSON.stringify({ split: 'val', tasks: { cls: { temperature: { Pneumonia: 0 }, samples: 9 } } }),
          },
        ],
        'm.onnx',
      ),
    ).toThrow(/multichexnet\.temperature\.tasks\.cls\.temperature/);
    expect(() =>
      metadataFromProps(
        [...base, { key: 'multichexnet.ood', value: JSON.stringify({ ...ood, levels: ['c9'] }) }],
        'm.onnx',
      ),
    ).toThrow(/m\.onnx.*multichexnet\.ood\.levels/s);
  });

  it('refuses OOD statistics that do not fit the encoder, and a refuse policy without statistics', async () => {
    const bad = {
      statistics: { ...stats, mean: stats.mean.slice(1), components: stats.components.map((c) => c.slice(1)) },
      threshold: 1,
      targetFalseRefusal: 0.05,
      thresholdFilms: 3,
    };
    await expect(exportPipeline(blocks.model, { preprocessing: { size: SIZE }, ood: bad })).rejects.toThrow(DataError);
    await expect(
      exportPipeline(blocks.model, {
        preprocessing: { size: SIZE },
        ood: { ...bad, statistics: { ...stats, variances: [1] } },
      }),
    ).rejects.toThrow(ConfigError);
    const temperature = (tasks: Record<string, { temperature: number | Record<string, number>; samples: number }>) => ({
      split: 'val',
      tasks,
    });
    await expect(
      exportPipeline(blocks.model, {
        preprocessing: { size: SIZE },
        temperature: temperature({ cls: { temperature: { Foo: 2 }, samples: 9 } }),
      }),
    ).rejects.toThrow(/Temperatures name a class the task does not have.*Foo/s);
    await expect(
      exportPipeline(blocks.model, {
        preprocessing: { size: SIZE },
        temperature: temperature({ det: { temperature: { Foo: 2 }, samples: 9 } }),
      }),
    ).rejects.toThrow(/Per-class temperatures for a task calibrated as a whole.*temperature\.tasks\.det/s);
    const clsOnly = createMultiCheXNet({ encoder: blocks.encoder, heads: { cls: blocks.cls } });
    await expect(
      exportPipeline(clsOnly, {
        preprocessing: { size: SIZE },
        temperature: temperature({ seg: { temperature: 2, samples: 9 } }),
      }),
    ).rejects.toThrow(/Temperatures for a task the model does not have.*temperature\.tasks\.seg/s);
    await expect(open(plain, { ood: 'refuse' })).rejects.toThrow(/Model has no OOD statistics.*multichexnet\.ood/s);
    const p = await open(plain);
    expect((await p.run(noises[0]!)).ood).toBeUndefined();
    await p.dispose();
  });
});

describe('any subset of heads', () => {
  it('a det-only and a seg-only model score and refuse like the full one (the score reads the encoder only)', async () => {
    const ood = { statistics: stats, threshold, targetFalseRefusal: 0.05, thresholdFilms: films.length };
    const full = await open(withOod, { ood: 'flag' });
    try {
      const [want] = await full.runBatch([noises[0]!]);
      for (const heads of [{ det: blocks.det }, { seg: blocks.seg }] as Record<string, TaskHead>[]) {
        const sub = createMultiCheXNet({ encoder: blocks.encoder, heads });
        const models = await exportPipeline(sub, {
          preprocessing: { size: SIZE },
          ood,
          temperature: {
            split: 'val',
            tasks: Object.fromEntries(Object.keys(heads).map((t) => [t, { temperature: 1.5, samples: 10 }])),
          },
        });
        const p = await open(models);
        try {
          const [got, film] = await p.runBatch([noises[0]!, films[0]!]);
          expect(got!.ood!.score).toBeCloseTo(want!.ood!.score, 4);
          expect(got!.refused).toBe(true);
          expect(film!.refused).toBeUndefined();
          expect(film!.calibrated).toBe(true);
          expect(got!.tasks).toEqual(Object.keys(heads));
        } finally {
          await p.dispose();
        }
      }
    } finally {
      await full.dispose();
    }
  });
});
