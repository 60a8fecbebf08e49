// A fourth task added by this package alone: CheXCovid composes with the shared encoder and a built-in head, trains in
// the trainer's step, is scored by the evaluation, exports to ONNX and runs on onnxruntime, decoded by its own
// decoder, without a line of it in any other package (the last test checks that no other package names it).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, initBackend, tf, DataError, type GrayImage } from '@multichexnet/core';
// The test composes the task with the layers above the heads, as a user's program would; src/ imports none of them.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { PATHOLOGIES, preprocessImage, type Batch } from '@multichexnet/data';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createEncoder } from '@multichexnet/core-encoder';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { segTask } from '@multichexnet/head-seg';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  BatchRecipeSchema,
  PhaseSchema,
  createLossWeighting,
  createOptimizer,
  evalSummary,
  summarise,
  taskMetrics,
  trainStep,
} from '@multichexnet/trainer';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { exportPipeline } from '@multichexnet/export';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createPipeline } from '@multichexnet/runtime';
import { covidDecoder, covidTask, COVID_CLASS, type CovidHead } from '../src/index';

const S = 64;
const B = 6;
const COVID = PATHOLOGIES.indexOf(COVID_CLASS);

beforeAll(async () => {
  await initBackend('cpu');
});

function model(seed: number): MultiCheXNet {
  const encoder = createEncoder({ preset: 'densenet-tiny', initFeatures: 8, growthRate: 4, seed });
  const fc = encoder.featureChannels;
  return createMultiCheXNet({
    encoder,
    heads: {
      covid: covidTask.createHead({ hidden: 4, seed: seed + 1 }, fc),
      seg: segTask.createHead({ decoderChannels: 4, seed: seed + 2 }, fc),
    },
    tasks: [covidTask],
  });
}

/** A batch as the batch stream delivers it: COVID-19 labels on samples 0-3 (0 and 1 positive), seg masks on 2-5. */
function batch(seed: number): Batch {
  const rng = createRng(seed);
  const C = PATHOLOGIES.length;
  const labels = new Float32Array(B * C).fill(Number.NaN);
  const masks = new Uint8Array(B * S * S);
  const tasks = { cls: new Uint8Array(B), det: new Uint8Array(B), seg: new Uint8Array(B) };
  for (let b = 0; b < 4; b++) labels[b * C + COVID] = b < 2 ? 1 : 0;
  for (let b = 2; b < B; b++) {
    tasks.seg[b] = 1;
    if (b < 4) for (let y = 10; y < 30; y++) for (let x = 5; x < 20; x++) masks[b * S * S + y * S + x] = 1;
  }
  const images = Float32Array.from({ length: B * S * S }, () => rng.normal());
  return {
    size: B,
    imageSize: S,
    images,
    labels,
    classes: PATHOLOGIES,
    boxes: Array.from({ length: B }, () => []),
    masks,
    tasks,
    ids: [],
    patientIds: [],
    sources: [],
  };
}

describe('a fourth task from one package: CheXCovid', () => {
  it('composes with the encoder and CheXSeg, in table order, and predicts through its own decoder', () => {
    const m = model(1);
    expect(m.tasks).toEqual(['seg', 'covid']);
    expect(m.outputNames).toEqual(['seg', 'covid']);
    const x = tf.tensor4d(batch(2).images, [B, S, S, 1]);
    const preds = m.predict(x);
    expect(preds).toHaveLength(B);
    for (const p of preds) {
      expect(p.covid).toEqual({
        probability: expect.any(Number),
        positive: (p.covid as { probability: number }).probability >= 0.5,
      });
      expect(p.mask).toBeDefined();
    }
    x.dispose();
    m.dispose();
  });

  it('trains in the trainer step: its loss from its spec, gradients into its head and the shared encoder', () => {
    const m = model(3);
    const phase = PhaseSchema.parse({
      name: 'covid-seg',
      trainable: ['encoder', 'covid', 'seg'],
      batches: [{ datasets: ['siim'], tasks: ['covid', 'seg'] }],
      steps: 1,
      optimizer: { type: 'adam', learningRate: 1e-2 },
    });
    m.setTrainable({ encoder: true, covid: true, seg: true });
    const weighting = createLossWeighting(phase.lossWeighting, ['covid', 'seg']);
    const before = (m.heads.covid as CovidHead).layersModel.getWeights().map((w) => Float32Array.from(w.dataSync()));
    const outcome = trainStep(
      {
        model: m,
        phase,
        recipe: BatchRecipeSchema.parse(phase.batches[0]),
        step: 0,
        teacherForcing: null,
        weighting,
        optimizer: createOptimizer(phase.optimizer),
        variables: m.trainableVariables(),
        learningRate: 1e-2,
        gateClasses: [],
      },
      batch(4),
    );
    expect(outcome.applied).toBe(true);
    expect(Object.keys(outcome.losses).sort()).toEqual(['covid', 'seg']);
    expect(outcome.losses.covid).toBeGreaterThan(0);
    const after = (m.heads.covid as CovidHead).layersModel.getWeights().map((w) => Float32Array.from(w.dataSync()));
    expect(after.some((w, i) => w.some((v, j) => v !== before[i]![j]))).toBe(true);
    m.dispose();
  });

  it('is scored by the evaluation with its own metrics, under its name', () => {
    const m = model(5);
    const records = [0.9, 0.7, 0.4, 0.2].map((probability, i) => ({ label: i < 2 ? 1 : i === 2 ? 1 : 0, probability }));
    const r = summarise({ tasks: { covid: records }, gate: { scores: [], labels: [], positive: [], sources: [] } }, m, {
      covid: { threshold: 0.5 },
    });
    const metrics = taskMetrics(r, covidTask)!;
    expect(metrics).toEqual({ auroc: 1, accuracy: 0.75, threshold: 0.5, images: 4, positives: 3 });
    expect(evalSummary({ gating: 'none', ...r })).toEqual({ gating: 'none', covid: metrics });
    expect(covidTask.evaluation.headline(metrics)[0]!.label).toBe('CheXCovid AUROC');
    m.dispose();
  });

  it('exports to ONNX and runs on onnxruntime-node with its decoder, as tfjs predicts it', async () => {
    const m = model(7);
    const exported = await exportPipeline(m, { preprocessing: { size: S } });
    expect(exported.reports.stage1.metadata.tasks).toEqual(['covid']);
    expect(exported.reports.stage1.metadata.outputs.map((o) => o.name)).toContain('covid_prob');
    expect(exported.reports.stage1.metadata.gate).toBeNull();
    const files = { stage1: exported.stage1, stage2: exported.stage2 };
    // The runtime knows the built-in decoders only: a model with an unknown task needs its decoder.
    await expect(createPipeline({ model: files, gate: { enabled: false } })).rejects.toThrow(DataError);
    const pipe = await createPipeline({ model: files, gate: { enabled: false }, decoders: [covidDecoder] });
    const rng = createRng(8);
    const images: GrayImage[] = [0, 1, 2].map(() => ({
      width: S,
      height: S,
      data: Uint8Array.from({ length: S * S }, () => rng.int(0, 256)),
    }));
    const results = await pipe.runBatch(images);
    const spec = exported.reports.stage1.metadata.preprocessing!;
    const x = tf.tensor4d(
      Float32Array.from(images.flatMap((im) => Array.from(preprocessImage({ ...im, maxValue: 255 }, spec).input))),
      [images.length, S, S, 1],
    );
    const reference = m.predict(x, { gating: 'none' });
    results.forEach((r, i) => {
      expect(r.tasks).toEqual(['seg', 'covid']);
      const ref = reference[i]!.covid as { probability: number; positive: boolean };
      const got = r.covid as { probability: number; positive: boolean };
      expect(Math.abs(got.probability - ref.probability)).toBeLessThan(1e-4);
      expect(got.positive).toBe(ref.positive);
      expect(r.mask).not.toBeUndefined();
    });
    x.dispose();
    await pipe.dispose();
    m.dispose();
  });

  it('lives in this package alone: no other library package depends on it or names it in its sources', () => {
    const packages = join(fileURLToPath(new URL('../..', import.meta.url)));
    const offenders: string[] = [];
    const visit = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, e.name);
        if (e.isDirectory()) visit(full);
        else if (
          /\.(ts|mts|mjs|js)$/.test(e.name) &&
          /covidTask|covidDecoder|head-covid/.test(readFileSync(full, 'utf8'))
        )
          offenders.push(full);
      }
    };
    for (const name of readdirSync(packages)) {
      // consumer-tests is the harness that installs every published package to run its README example.
      if (name === 'head-covid' || name === 'consumer-tests') continue;
      const manifest = join(packages, name, 'package.json');
      if (!existsSync(manifest)) continue;
      const m = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, Record<string, string> | undefined>;
      for (const field of ['dependencies', 'devDependencies', 'peerDependencies'])
        if (m[field]?.['@multichexnet/head-covid'] !== undefined) offenders.push(`${manifest} ${field}`);
      if (existsSync(join(packages, name, 'src'))) visit(join(packages, name, 'src'));
    }
    expect(offenders).toEqual([]);
  });
});
