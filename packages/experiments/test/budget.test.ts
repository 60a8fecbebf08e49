import { describe, expect, it } from 'vitest';
import { parsePlan, type TrainingData } from '@multichexnet/trainer';
import { budgetOf } from '../src/index';

const data = {
  nih: { train: { size: 700 } },
  rsna: { train: { size: 420 } },
  siim: { train: { size: 420 } },
} as unknown as TrainingData;
const model = { encoder: { preset: 'densenet-tiny' }, cls: {}, det: {}, seg: {} };
const phase = (
  name: string,
  steps: number,
  trainable: string[],
  batches: { datasets: string[]; tasks: string[] }[],
) => ({ name, steps, batchSize: 16, trainable, batches });

describe('budgetOf', () => {
  it('counts the steps whose loss includes each head and the labelled rows they fed it', () => {
    const plan = parsePlan({
      name: 'p',
      imageSize: 128,
      model,
      phases: [
        phase('a', 100, ['encoder', 'cls'], [{ datasets: ['nih'], tasks: ['cls'] }]),
        phase(
          'b',
          10,
          ['encoder', 'cls', 'det', 'seg'],
          [{ datasets: ['nih', 'rsna', 'siim'], tasks: ['cls', 'det', 'seg'] }],
        ),
        // Alternating: 7 steps over 3 recipes, 3 / 2 / 2.
        phase(
          'c',
          7,
          ['encoder', 'cls', 'det', 'seg'],
          [
            { datasets: ['nih'], tasks: ['cls'] },
            { datasets: ['rsna'], tasks: ['cls', 'det'] },
            { datasets: ['siim'], tasks: ['cls', 'seg'] },
          ],
        ),
        // Frozen det: no budget for it.
        phase('d', 5, ['encoder', 'seg'], [{ datasets: ['rsna', 'siim'], tasks: ['det', 'seg'] }]),
      ],
    });
    const b = budgetOf(plan.phases, data);
    expect(b.cls).toEqual({ steps: 100 + 10 + 7, images: 1600 + 160 + 7 * 16 });
    // det: phase b rows from RSNA (420 of 1540), phase c its 2 RSNA steps.
    expect(b.det).toEqual({ steps: 10 + 2, images: Math.round((10 * 16 * 420) / 1540 + 2 * 16) });
    expect(b.seg).toEqual({
      steps: 10 + 2 + 5,
      images: Math.round((10 * 16 * 420) / 1540 + 2 * 16 + (5 * 16 * 420) / 840),
    });
  });

  it('leaves out heads no phase trains', () => {
    const plan = parsePlan({
      name: 'p',
      imageSize: 128,
      model,
      phases: [phase('a', 3, ['encoder', 'cls'], [{ datasets: ['nih'], tasks: ['cls'] }])],
    });
    expect(budgetOf(plan.phases, data)).toEqual({ cls: { steps: 3, images: 48 } });
  });
});
