// Post-hoc calibration (the trainer's collectOutputs / fitHeadTemperatures / headReliability) reads the task table:
// every head whose decoder has a calibration descriptor is collected, fitted and scored, this fourth task as much as
// the paper's three, with no line of it in the trainer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
// The test composes the task with the layers above the heads, as a user's program would; src/ imports none of them.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { PATHOLOGIES, createBatchStream, openCovid, type Dataset } from '@multichexnet/data';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { smallModel } from '@multichexnet/model/testing';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { synthesize } from '@multichexnet/synth';
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  collectOutputs,
  fitHeadTemperatures,
  headReliability,
  openTrainingData,
  reliability,
  type TaskSamples,
  type TemperatureFit,
} from '@multichexnet/trainer';
import { COVID_CLASS, covidTask } from '../src/index';

const S = 64;
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
let root: string;
let model: MultiCheXNet;
let sets: Record<string, Dataset>;

beforeAll(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'mcx-covid-cal-'));
  await synthesize({ out: root, counts: { nih: 10, rsna: 10, siim: 10, covid: 16 }, size: S, seed: 31 });
  const data = await openTrainingData(
    { nih: join(root, 'nih'), rsna: join(root, 'rsna'), siim: join(root, 'siim') },
    { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 31 },
  );
  sets = {
    nih: data.nih!.test,
    rsna: data.rsna!.test,
    siim: data.siim!.test,
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
