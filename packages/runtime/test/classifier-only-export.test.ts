import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend } from '@multichexnet/core';
import { createClsHead } from '@multichexnet/head-cls';
// Tests compose the real encoder with a real head; src/ never imports the encoder.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createEncoder } from '@multichexnet/core-encoder';
import { createPipeline, exportModelWithReport, exportPipeline } from '../src/index';
import { buildBlocks } from './helpers/models';

/*
 * A classifier fine-tuned to new classes (e.g. COVID-19) without det/seg has nothing for a gate to guard: it
 * exports without a gate (metadata gate null) and runs in a pipeline with the default options. A model WITH det or
 * seg and no way to gate still gets the clear error.
 */
const SIZE = 64;
const CLASSES = ['COVID-19', 'Other pneumonia', 'No finding'];
let encoder: ReturnType<typeof createEncoder>;
let cls: ReturnType<typeof createClsHead>;

beforeAll(async () => {
  await initBackend('cpu');
  encoder = createEncoder({ preset: 'densenet-tiny', seed: 3 });
  cls = createClsHead({ classes: CLASSES, featureChannels: encoder.featureChannels, seed: 4 });
});
afterAll(() => {
  encoder.dispose();
  cls.dispose();
});

describe('a classifier alone with classes the default gate does not know', () => {
  it('exports both forms without a gate, and the pipeline runs it', async () => {
    const single = await exportModelWithReport({ encoder, cls }, { preprocessing: { size: SIZE } });
    expect(single.metadata.gate).toBeNull();
    const pipe = await exportPipeline({ encoder, cls }, { preprocessing: { size: SIZE } });
    expect(pipe.stage2).toBeNull();
    expect(pipe.reports.stage1.metadata.gate).toBeNull();
    for (const model of [{ model: single.bytes }, { stage1: pipe.stage1, stage2: null }]) {
      const p = await createPipeline({ model });
      const image = { width: 80, height: 70, data: new Float32Array(80 * 70).map((_, i) => (i % 97) / 97) };
      const r = await p.run(image);
      expect(Object.keys(r.probabilities)).toEqual(CLASSES);
      for (const v of Object.values(r.probabilities)) expect(v).toBeGreaterThan(0);
      expect(r.boxes).toEqual([]);
      expect(r.mask).toBeNull();
      await p.dispose();
    }
  });

  it('still refuses a model with det/seg and nothing to gate on', async () => {
    const blocks = buildBlocks('densenet-tiny', 9);
    const other = createClsHead({ classes: CLASSES, featureChannels: blocks.encoder.featureChannels, seed: 5 });
    try {
      const err = await exportPipeline({ encoder: blocks.encoder, cls: other, det: blocks.det, seg: blocks.seg }, { preprocessing: { size: SIZE } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(/neither Pneumonia nor Pneumothorax/);
    } finally {
      other.dispose();
      blocks.dispose();
    }
  });
});
