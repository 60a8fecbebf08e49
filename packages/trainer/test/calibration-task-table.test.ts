// Post-hoc calibration reads the task table: every head whose decoder has a calibration descriptor is collected,
// fitted and scored, the fourth task (CheXCovid, one package of its own) as much as the paper's three.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { PATHOLOGIES, createBatchStream, openCovid } from '@multichexnet/data';
// The example fourth task, composed as a user's program would (trainer's sources never name it).
// eslint-disable-next-line @nx/enforce-module-boundaries
import { COVID_CLASS, covidTask } from '@multichexnet/head-covid';
import { createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import {
  collectOutputs,
  fitHeadTemperatures,
  headReliability,
  reliability,
  type TaskSamples,
  type TemperatureFit,
} from '../src/index';
import { smallModel } from './helpers';
import { syntheticData } from './synthetic';

const S = 64;
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
let root: string;
let model: MultiCheXNet;
let sets: Record<string, import('@multichexnet/data').Dataset>;

beforeAll(async () => {
  await initBackend('cpu');
  const synth = await syntheticData({ nih: 10, rsna: 10, siim: 10 }, S, 31, { covid: 16 });
  root = synth.root;
  sets = {
    nih: synth.data.nih!.test,
    rsna: synth.data.rsna!.test,
    siim: synth.data.siim!.test,
    covid: await openCovid({ root: join(root, 'covid') }),
  };
  const base = smallModel(3, { gate: null });
  model = createMultiCheXNet({
    encoder: base.encoder,
    heads: { ...base.heads, covid: covidTask.createHead({ hidden: 4, seed: 9 }, base.encoder.featureChannels) },
    tasks: [covidTask],
  });
}, 120_000);

afterAll(() => {
  model?.dispose();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('calibration over the task table', () => {
  it('collects, fits and scores a fourth head (CheXCovid) beside the built-in three', async () => {
    const out = await collectOutputs(model, sets, { imageSize: S, heads: true });
    expect(Object.keys(out).filter((k) => k !== 'features')).toEqual(['cls', 'det', 'seg', 'covid']);

    // CheXCovid on its default source: one logit per labelled film, its label the film's COVID-19 label, its
    // sigmoid the model's own COVID-19 probability
    const covid = out.covid as TaskSamples;
    const column = PATHOLOGIES.indexOf(COVID_CLASS);
    const probabilities: number[] = [];
    const labels: number[] = [];
    const stream = createBatchStream({
      datasets: sets.covid!,
      batchSize: 16,
      shuffle: false,
      augment: false,
      preprocess: { size: S },
      classes: [...PATHOLOGIES],
      prefetch: 1,
    });
    for await (const batch of stream) {
      const x = tf.tensor4d(batch.images, [batch.size, S, S, 1]);
      model.predict(x, { gating: 'none', tasks: ['covid'] }).forEach((p, b) => {
        const label = batch.labels[b * PATHOLOGIES.length + column]!;
        if (Number.isNaN(label)) return;
        probabilities.push((p.covid as { probability: number }).probability);
        labels.push(label);
      });
      x.dispose();
    }
    expect(labels.length).toBeGreaterThan(0);
    expect(new Set(labels)).toEqual(new Set([0, 1]));
    expect(covid.labels).toEqual(labels);
    covid.logits.forEach((z, i) => expect(sigmoid(z)).toBeCloseTo(probabilities[i]!, 5));

    // the built-in heads beside it: CheXDet's decoded boxes labelled hit / false alarm, CheXSeg's pixels
    for (const task of ['det', 'seg']) {
      const s = out[task] as TaskSamples;
      expect(s.logits.length, task).toBeGreaterThan(0);
      expect(
        s.labels.every((y) => y === 0 || y === 1),
        task,
      ).toBe(true);
    }

    // one temperature for the task, as its decoder's calibration (per: 'task') says
    const fit = fitHeadTemperatures(out).covid as TemperatureFit;
    expect(fit).toMatchObject({ count: labels.length, fitted: true });
    expect(fit.temperature).toBeGreaterThan(0);
    expect(fit.nllAfter).toBeLessThanOrEqual(fit.nllBefore);

    const T = fit.temperature;
    const r = headReliability(out, { covid: T });
    expect(r.covid?.before.count).toBe(labels.length);
    // after scaling: the reliability of sigmoid(z / T)
    expect(r.covid?.after).toEqual(
      reliability(
        covid.logits.map((z) => sigmoid(z / T)),
        labels,
      ),
    );
  }, 120_000);
});
