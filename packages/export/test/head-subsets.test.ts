// Any subset of the task table exports and runs: encoder + CheXDet alone, encoder + CheXSeg alone, encoder + a
// COVID-19 classifier + CheXSeg, each without a gate and with one, through onnxruntime-node, decoded by the heads'
// own decoders exactly as the tfjs model predicts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf, type GrayImage } from '@multichexnet/core';
import { preprocessImage } from '@multichexnet/data';
import {
  buildModel,
  ModelConfigSchema,
  type ImagePrediction,
  type ModelConfigInput,
  type MultiCheXNet,
} from '@multichexnet/model';
import { createPipeline, type PipelineResult } from '@multichexnet/runtime';
import { exportPipeline } from '../src/index';

const SIZE = 64;
const TOL = 1e-4;

beforeAll(async () => {
  await initBackend('cpu');
});

/** Four 64 x 64 films with a bright blob each (the model input size: boxes and masks need no resizing). */
const images: GrayImage[] = [0, 1, 2, 3].map((seed) => {
  const data = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++)
      data[y * SIZE + x] = Math.round(
        40 + 2 * x + 120 * Math.exp(-(((x - 12 - 10 * seed) / 9) ** 2 + ((y - 30) / 12) ** 2)) + 9 * seed,
      );
  return { width: SIZE, height: SIZE, data };
});

const cases: { name: string; model: ModelConfigInput; gate: NonNullable<ModelConfigInput['gate']>; tasks: string[] }[] =
  [
    {
      name: 'encoder + CheXDet',
      model: { det: { hiddenChannels: 8, hiddenLayers: 1, priorProbability: 0.3 } },
      gate: { kind: 'binary-head' },
      tasks: ['det'],
    },
    {
      name: 'encoder + CheXSeg',
      model: { seg: { decoderChannels: 8, priorProbability: 0.5 } },
      gate: { kind: 'binary-head', head: { hidden: 4 } },
      tasks: ['seg'],
    },
    {
      name: 'encoder + a COVID-19 classifier + CheXSeg',
      model: { cls: { classes: ['COVID-19', 'Other pneumonia'] }, seg: { decoderChannels: 8, priorProbability: 0.5 } },
      gate: { kind: 'cls-path', classes: ['COVID-19'] },
      tasks: ['cls', 'seg'],
    },
  ];

function compare(r: PipelineResult, p: ImagePrediction): void {
  expect(r.gate.positive).toBe(p.gate?.positive ?? true);
  if (p.gate !== undefined) expect(Math.abs(r.gate.probability - p.gate.probability)).toBeLessThan(TOL);
  if (p.probabilities !== undefined)
    for (const [c, v] of Object.entries(p.probabilities)) expect(Math.abs(r.probabilities![c]! - v)).toBeLessThan(TOL);
  if (p.boxes !== undefined) {
    expect(r.boxes!.length).toBe(p.boxes.length);
    r.boxes!.forEach((b, i) => {
      for (const k of ['x', 'y', 'width', 'height', 'score'] as const)
        expect(Math.abs(b[k] - p.boxes![i]![k])).toBeLessThan(1e-3);
    });
  }
  if (p.mask !== undefined) {
    if (p.mask === null) expect(r.mask).toBeNull();
    else {
      let differ = 0;
      for (let i = 0; i < p.mask.data.length; i++) if (p.mask.data[i] !== r.mask!.data[i]) differ++;
      expect(differ / p.mask.data.length).toBeLessThan(5e-3);
    }
  }
}

describe.each(cases)('$name', ({ model: config, gate, tasks }) => {
  const built: MultiCheXNet[] = [];
  afterAll(() => built.forEach((m) => m.dispose()));

  it.each([false, true])('exports and runs through onnxruntime-node as tfjs predicts it (gated: %s)', async (gated) => {
    const model = buildModel(
      ModelConfigSchema.parse({ encoder: { preset: 'densenet-tiny' }, ...config, ...(gated ? { gate } : {}) }),
      7,
    );
    built.push(model);
    expect(model.tasks).toEqual(tasks);
    const exported = await exportPipeline(model, { preprocessing: { size: SIZE } });
    const spec = exported.reports.stage1.metadata.preprocessing!;
    const x = tf.tensor4d(
      Float32Array.from(images.flatMap((im) => Array.from(preprocessImage({ ...im, maxValue: 255 }, spec).input))),
      [images.length, SIZE, SIZE, 1],
    );
    if (gated) {
      // A threshold between the images' gate probabilities: some go on to the routed heads, some do not.
      const probs = model
        .predict(x, { gating: 'none' })
        .map((p) => p.gate!.probability)
        .sort((a, b) => a - b);
      model.gate!.setThreshold((probs[1]! + probs[2]!) / 2);
    }
    const again = await exportPipeline(model, { preprocessing: { size: SIZE } });
    expect(again.reports.stage1.metadata.gate === null).toBe(!gated);
    const pipe = await createPipeline({
      model: { stage1: again.stage1, stage2: again.stage2 },
      gate: { enabled: gated },
    });
    const results = await pipe.runBatch(images);
    const reference = model.predict(x, { gating: gated ? 'gate' : 'none' });
    results.forEach((r, i) => {
      expect(r.tasks).toEqual(tasks);
      compare(r, reference[i]!);
    });
    if (gated) expect(results.map((r) => r.gate.positive).sort()).toEqual([false, false, true, true]);
    // the comparison is not vacuous: the routed heads found something on the images they ran on
    const found = results
      .filter((r) => r.gate.positive)
      .reduce((n, r) => n + (r.boxes?.length ?? 0) + (r.mask?.data.reduce((a, v) => a + v, 0) ?? 0), 0);
    expect(found).toBeGreaterThan(0);
    x.dispose();
    await pipe.dispose();
  });
});
