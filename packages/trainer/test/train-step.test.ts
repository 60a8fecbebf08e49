import { beforeAll, describe, expect, it } from 'vitest';
import { PATHOLOGIES, type Batch } from '@multichexnet/data';
import { createRng, initBackend, tf } from '@multichexnet/core';
import { createTeacherForcing } from '@multichexnet/gating';
import { BatchRecipeSchema, PhaseSchema, createLossWeighting, createOptimizer, trainStep, type HeadSet, type MultiCheXNet, type StepContext } from '../src/index';
import { differing, smallModel, snapshot } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const S = 64;
const C = PATHOLOGIES.length;
const PNA = PATHOLOGIES.indexOf('Pneumonia');
const PTX = PATHOLOGIES.indexOf('Pneumothorax');

/**
 * A batch as the batch stream delivers it: samples 0-3 from RSNA (0 and 1 with boxes), 4-7 from SIIM (4 and 5
 * with a pneumothorax mask).
 */
function batch(seed: number): Batch {
  const rng = createRng(seed);
  const B = 8;
  const images = Float32Array.from({ length: B * S * S }, () => rng.normal());
  const labels = new Float32Array(B * C).fill(Number.NaN);
  const masks = new Uint8Array(B * S * S);
  const boxes: Batch['boxes'] = [];
  const tasks = { cls: new Uint8Array(B).fill(1), det: new Uint8Array(B), seg: new Uint8Array(B) };
  for (let b = 0; b < 4; b++) {
    labels[b * C + PNA] = b < 2 ? 1 : 0;
    tasks.det[b] = 1;
    boxes.push(b < 2 ? [{ label: 'Pneumonia', x: 8 + 4 * b, y: 10, width: 20, height: 24 }] : []);
  }
  for (let b = 4; b < 8; b++) {
    labels[b * C + PTX] = b < 6 ? 1 : 0;
    tasks.seg[b] = 1;
    boxes.push([]);
    if (b < 6) for (let y = 10; y < 30; y++) for (let x = 5; x < 20; x++) masks[b * S * S + y * S + x] = 1;
  }
  return { size: B, imageSize: S, images, labels, classes: PATHOLOGIES, boxes, masks, tasks, ids: [], patientIds: [], sources: ['rsna', 'rsna', 'rsna', 'rsna', 'siim', 'siim', 'siim', 'siim'] };
}

function context(model: MultiCheXNet<HeadSet>, p: number, trainable: ('encoder' | 'cls' | 'det' | 'seg')[]): StepContext {
  const phase = PhaseSchema.parse({ name: 'joint', trainable, batches: [{ datasets: ['rsna', 'siim'], tasks: ['cls', 'det', 'seg'] }], steps: 10, routing: { type: 'teacher-forcing', p } });
  model.setTrainable({ encoder: trainable.includes('encoder'), cls: trainable.includes('cls'), det: trainable.includes('det'), seg: trainable.includes('seg') });
  const weighting = createLossWeighting({ type: 'equal' }, ['cls', 'det', 'seg']);
  return {
    model,
    phase,
    recipe: BatchRecipeSchema.parse(phase.batches[0]),
    step: 0,
    teacherForcing: createTeacherForcing({ p, seed: 1 }),
    weighting,
    optimizer: createOptimizer(phase.optimizer),
    variables: [...model.trainableVariables(), ...weighting.variables],
    learningRate: 1e-3,
    gateClasses: ['Pneumonia', 'Pneumothorax'],
  };
}

describe('trainStep', () => {
  it('ground-truth routing trains det / seg on the true positives only, with one encoder pass', () => {
    const model = smallModel(1);
    let passes = 0;
    const apply = model.encoder.apply.bind(model.encoder);
    (model.encoder as unknown as { apply: typeof apply }).apply = ((...a: Parameters<typeof apply>) => {
      passes++;
      return apply(...a);
    }) as typeof apply;
    const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg']);
    const out = trainStep(ctx, batch(1));
    expect(passes).toBe(1);
    expect(out.applied).toBe(true);
    expect(out.routing).toBe('ground-truth');
    expect(out.routed).toEqual({ det: { samples: 2, falsePositives: 0, falseNegatives: 0 }, seg: { samples: 2, falsePositives: 0, falseNegatives: 0 } });
    expect(Object.keys(out.losses).sort()).toEqual(['cls', 'det', 'seg']);
    expect(out.total).toBeCloseTo(out.losses.cls! + out.losses.det! + out.losses.seg!, 4);
    ctx.optimizer.dispose();
    model.dispose();
  });

  it('gate routing: false positives train as negatives, false negatives add no loss', () => {
    const model = smallModel(2);
    const open = context(model, 0, ['det', 'seg']);
    model.gate!.setThreshold(0);
    const all = trainStep(open, batch(2));
    expect(all.routing).toBe('gate');
    // Every labeled sample passes a gate at 0: 2 of 4 RSNA and 2 of 4 SIIM samples are false positives.
    expect(all.routed).toEqual({ det: { samples: 4, falsePositives: 2, falseNegatives: 0 }, seg: { samples: 4, falsePositives: 2, falseNegatives: 0 } });
    model.gate!.setThreshold(1);
    const closed = trainStep({ ...open, step: 1 }, batch(2));
    expect(closed.routed).toEqual({ det: { samples: 0, falsePositives: 0, falseNegatives: 2 }, seg: { samples: 0, falsePositives: 0, falseNegatives: 2 } });
    // The frozen cls head still reports its loss; with det and seg starved nothing trainable is reached: no update.
    expect(closed.losses.cls).toBeGreaterThan(0);
    expect(closed.applied).toBe(false);
    expect(closed.losses.det).toBeUndefined();
    expect(closed.losses.seg).toBeUndefined();
    open.optimizer.dispose();
    model.dispose();
  });

  it('updates the trainable blocks only and leaks nothing from one step to the next', () => {
    const model = smallModel(3);
    const ctx = context(model, 1, ['det']);
    const before = snapshot(model);
    trainStep(ctx, batch(3));
    const n = tf.memory().numTensors;
    trainStep({ ...ctx, step: 1 }, batch(4));
    expect(tf.memory().numTensors).toBe(n);
    const changed = differing(before, snapshot(model));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((k) => k.startsWith('det#'))).toBe(true);
    ctx.optimizer.dispose();
    model.dispose();
  });

  it('does not apply an update when a loss is not finite', () => {
    const model = smallModel(4);
    const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg']);
    const w = model.heads.cls!.trainableWeights[0]!;
    const poisoned = tf.fill(w.shape as number[], Number.NaN);
    w.write(poisoned);
    poisoned.dispose();
    const keys = ctx.variables.filter((v) => !v.key.startsWith('cls/')).map((v) => v.key);
    const before = new Map(ctx.variables.map((v) => [v.key, Float32Array.from(v.variable.dataSync())]));
    const out = trainStep(ctx, batch(5));
    expect(out.applied).toBe(false);
    expect(out.losses.cls).toBeNaN();
    for (const v of ctx.variables) if (keys.includes(v.key)) expect(Array.from(v.variable.dataSync())).toEqual(Array.from(before.get(v.key)!));
    ctx.optimizer.dispose();
    model.dispose();
  });
});
