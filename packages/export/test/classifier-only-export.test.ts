import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend } from '@multichexnet/core';
import { createClsHead } from '@multichexnet/head-cls';
// Tests compose the real encoder with a real head; src/ never imports the encoder.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createEncoder } from '@multichexnet/core-encoder';
import { createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import { createPipeline } from '@multichexnet/runtime';
import { exportModelWithReport, exportPipeline } from '../src/index';
import { buildBlocks } from './helpers/models';

/*
 * A classifier fine-tuned to new classes (e.g. COVID-19) without det/seg has nothing for a gate to guard: it
 * exports without a gate (metadata gate null) and runs in a pipeline with the default options. A model WITH det or
 * seg and no way to gate exports ungated; its pipeline says to run it with the gate off.
 */
const SIZE = 64;
const CLASSES = ['COVID-19', 'Other pneumonia', 'No finding'];
let encoder: ReturnType<typeof createEncoder>;
let model: MultiCheXNet;

beforeAll(async () => {
  await initBackend('cpu');
  encoder = createEncoder({ preset: 'densenet-tiny', seed: 3 });
  model = createMultiCheXNet({
    encoder,
    heads: { cls: createClsHead({ classes: CLASSES, featureChannels: encoder.featureChannels, seed: 4 }) },
  });
});
afterAll(() => model.dispose());

describe('a classifier alone with classes the default gate does not know', () => {
  it('exports both forms without a gate, and the pipeline runs it', async () => {
    const single = await exportModelWithReport(model, { preprocessing: { size: SIZE } });
    expect(single.metadata.gate).toBeNull();
    const pipe = await exportPipeline(model, { preprocessing: { size: SIZE } });
    expect(pipe.stage2).toBeNull();
    expect(pipe.reports.stage1.metadata.gate).toBeNull();
    for (const model of [{ model: single.bytes }, { stage1: pipe.stage1, stage2: null }]) {
      const p = await createPipeline({ model });
      const image = { width: 80, height: 70, data: new Float32Array(80 * 70).map((_, i) => (i % 97) / 97) };
      const r = await p.run(image);
      expect(Object.keys(r.probabilities!)).toEqual(CLASSES);
      for (const v of Object.values(r.probabilities!)) expect(v).toBeGreaterThan(0);
      expect(r.tasks).toEqual(['cls']);
      expect(r.boxes).toBeUndefined();
      expect(r.mask).toBeUndefined();
      await p.dispose();
    }
  });

  it('exports a model with det / seg and nothing to gate on ungated, and its pipeline asks to run ungated', async () => {
    const blocks = buildBlocks('densenet-tiny', 9);
    const other = createClsHead({ classes: CLASSES, featureChannels: blocks.encoder.featureChannels, seed: 5 });
    const covid = createMultiCheXNet({
      encoder: blocks.encoder,
      heads: { cls: other, det: blocks.det, seg: blocks.seg },
    });
    try {
      const m = await exportPipeline(covid, { preprocessing: { size: SIZE } });
      expect(m.reports.stage1.metadata.gate).toBeNull();
      await expect(createPipeline({ model: { stage1: m.stage1, stage2: m.stage2 } })).rejects.toThrow(
        /no gate for its routed tasks \(det, seg\).*gate: \{ enabled: false \}/,
      );
      const p = await createPipeline({ model: { stage1: m.stage1, stage2: m.stage2 }, gate: { enabled: false } });
      const r = await p.run({ width: 64, height: 64, data: new Uint8Array(64 * 64).fill(90) });
      expect([r.tasks, Object.keys(r.probabilities!), Array.isArray(r.boxes), r.mask!.width]).toEqual([
        ['cls', 'det', 'seg'],
        CLASSES,
        true,
        64,
      ]);
      await p.dispose();
    } finally {
      other.dispose();
      blocks.dispose();
    }
  });
});
