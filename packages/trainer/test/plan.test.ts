import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@multichexnet/core';
import {
  BUILTIN_PLANS,
  PLAN_SIZES,
  builtinPlan,
  loadPlan,
  parsePlan,
  stepsTraining,
  type TrainingPlanInput,
} from '../src/index';

const minimal = (): TrainingPlanInput => ({
  name: 'mini',
  model: { encoder: { preset: 'densenet-tiny' }, cls: {}, det: {}, gate: { kind: 'cls-path' } },
  phases: [{ name: 'p1', trainable: ['encoder', 'cls'], batches: [{ datasets: ['nih'], tasks: ['cls'] }], steps: 3 }],
});

function issues(input: unknown): string {
  try {
    parsePlan(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('training plans', () => {
  it('every built-in plan and size validates and fills its defaults', () => {
    for (const name of BUILTIN_PLANS) {
      for (const size of PLAN_SIZES) {
        const plan = parsePlan(builtinPlan(name, { size, seed: 5 }));
        expect(plan.name).toBe(`${name}-${size}`);
        expect(plan.seed).toBe(5);
        expect(plan.phases.length).toBeGreaterThan(0);
        for (const p of plan.phases) expect(p.optimizer.type).toBe('adam');
      }
    }
  });

  it('the two MultiCheXNet plans share their pre-training phases; BigBang and the baselines get matching budgets', () => {
    const joint = parsePlan(builtinPlan('multichexnet-joint', { size: 'tiny' }));
    const alt = parsePlan(builtinPlan('multichexnet-alternating', { size: 'tiny' }));
    const pre = (p: typeof joint) => p.phases.filter((x) => x.stage === 'pretrain');
    expect(pre(joint)).toEqual(pre(alt));
    expect(pre(joint).map((p) => p.name)).toEqual([
      'pretrain-nih-cls',
      'pretrain-rsna-cls',
      'pretrain-rsna-det',
      'pretrain-siim-cls',
      'pretrain-siim-seg',
    ]);
    const total = (p: typeof joint) => p.phases.reduce((s, x) => s + x.steps, 0);
    expect(total(parsePlan(builtinPlan('bigbang', { size: 'tiny' })))).toBe(total(joint));
    // A single-task baseline trains its head as many steps as the protocol does.
    for (const head of ['cls', 'det', 'seg'] as const) {
      expect(total(parsePlan(builtinPlan(`single-${head}`, { size: 'tiny' })))).toBe(stepsTraining(joint.phases, head));
    }
    expect(stepsTraining(joint.phases, 'det')).toBe(
      joint.phases
        .filter((p) => p.name === 'pretrain-rsna-det' || p.name === 'mtl-joint')
        .reduce((s, p) => s + p.steps, 0),
    );
    expect(alt.phases.at(-1)!.batches.map((b) => b.datasets)).toEqual([['nih'], ['rsna'], ['siim']]);
    expect(joint.phases.at(-1)!.batches[0]).toMatchObject({
      datasets: ['nih', 'rsna', 'siim'],
      tasks: ['cls', 'det', 'seg'],
      detFromMasks: false,
    });
  });

  it('the small size is the tiny protocol on the full model at 256 px', () => {
    const tiny = parsePlan(builtinPlan('multichexnet-joint', { size: 'tiny' }));
    const small = parsePlan(builtinPlan('multichexnet-joint', { size: 'small' }));
    const full = parsePlan(builtinPlan('multichexnet-joint', { size: 'full' }));
    expect(small.phases.map((p) => [p.name, p.steps, p.evalEvery, p.checkpointEvery])).toEqual(
      tiny.phases.map((p) => [p.name, p.steps, p.evalEvery, p.checkpointEvery]),
    );
    expect({ ...small.model, imageSize: small.imageSize, lr: small.phases[0]!.optimizer.learningRate }).toEqual({
      ...full.model,
      imageSize: full.imageSize,
      lr: full.phases[0]!.optimizer.learningRate,
    });
    expect(small.model.encoder).toEqual({ preset: 'densenet-small' });
  });

  it('errors name the field, the rule and the value', () => {
    const bad = minimal();
    bad.phases[0]!.steps = 0;
    expect(issues(bad)).toMatch(/phases\.0\.steps: must be > 0; received 0/);
    expect(issues({ ...minimal(), imageSize: 100 })).toMatch(/imageSize: must be a multiple of 32; received 100/);
    const seg = minimal();
    seg.phases[0]!.trainable = ['encoder', 'seg'];
    expect(issues(seg)).toMatch(/phases\.0\.trainable\.1: names block "seg", which model does not define/);
    const task = minimal();
    task.phases[0]!.batches = [{ datasets: ['siim'], tasks: ['seg'] }];
    expect(issues(task)).toMatch(/phases\.0\.batches\.0\.tasks\.0: task "seg" needs model\.seg/);
    const tf = minimal();
    tf.model = { cls: {}, det: {} };
    tf.phases[0]!.routing = { type: 'teacher-forcing' };
    expect(issues(tf)).toMatch(/phases\.0\.routing: teacher forcing routes by the gate/);
    const dup = minimal();
    dup.phases.push({ ...dup.phases[0]! });
    expect(issues(dup)).toMatch(/phases\.1\.name: must be unique/);
    expect(
      issues({ ...minimal(), phases: [{ ...minimal().phases[0]!, optimizer: { type: 'adam', learningRate: -1 } }] }),
    ).toMatch(/phases\.0\.optimizer\.learningRate: must be > 0/);
    expect(issues({ ...minimal(), extra: 1 })).toMatch(/unknown key\(s\) "extra"/);
    const masks = minimal();
    masks.phases[0]!.batches = [{ datasets: ['siim'], tasks: ['cls'], detFromMasks: true }];
    expect(issues(masks)).toMatch(/detFromMasks: needs "det"/);
    const acc = minimal();
    acc.phases[0]!.accumulate = 3;
    expect(issues(acc)).toMatch(
      /phases\.0\.accumulate: must divide batchSize \(16\) into equal micro-batches; received 3/,
    );
    expect(issues({ ...minimal(), phases: [{ ...minimal().phases[0]!, accumulate: 0 }] })).toMatch(
      /phases\.0\.accumulate: must be > 0; received 0/,
    );
    // Absent means 1, and leaves the resolved plan (plan.json, whose hash resume checks) as it was.
    expect('accumulate' in parsePlan(minimal()).phases[0]!).toBe(false);
  });

  it('accepts the gradient weightings with their defaults and names their bad fields', () => {
    const withWeighting = (lossWeighting: unknown) => ({
      ...minimal(),
      phases: [{ ...minimal().phases[0]!, lossWeighting }],
    });
    expect(parsePlan(withWeighting({ type: 'gradnorm' })).phases[0]!.lossWeighting).toEqual({
      type: 'gradnorm',
      alpha: 1.5,
      learningRate: 0.025,
    });
    expect(parsePlan(withWeighting({ type: 'pcgrad' })).phases[0]!.lossWeighting).toEqual({ type: 'pcgrad' });
    expect(parsePlan(withWeighting({ type: 'pcgrad', seed: 4 })).phases[0]!.lossWeighting).toEqual({
      type: 'pcgrad',
      seed: 4,
    });
    expect(issues(withWeighting({ type: 'gradnorm', alpha: -0.5 }))).toMatch(
      /phases\.0\.lossWeighting\.alpha: must be >= 0; received -0\.5/,
    );
    expect(issues(withWeighting({ type: 'gradnorm', learningRate: 0 }))).toMatch(
      /phases\.0\.lossWeighting\.learningRate: must be > 0/,
    );
    expect(issues(withWeighting({ type: 'pcgrad', window: 3 }))).toMatch(/unknown key\(s\) "window"/);
  });

  it('loads built-in names with a size suffix and JSON files', async () => {
    expect((await loadPlan('single-seg:tiny', { seed: 3 })).name).toBe('single-seg-tiny');
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const file = join(dir, 'plan.json');
    writeFileSync(file, JSON.stringify(minimal()));
    expect((await loadPlan(file)).phases[0]!.batchSize).toBe(16);
    writeFileSync(file, '{ not json');
    await expect(loadPlan(file)).rejects.toThrow(/must be valid JSON/);
    await expect(loadPlan(join(dir, 'missing.json'))).rejects.toThrow(ConfigError);
    expect(() => builtinPlan('single-cls', { size: 'huge' as never })).toThrow(/size: must be one of/);
  });
});
