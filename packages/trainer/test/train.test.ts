import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend, tf } from '@multichexnet/core';
import { buildModel } from '@multichexnet/model';
import {
  loadCheckpoint,
  loadLatestCheckpoint,
  parsePlan,
  restoreBlocks,
  train,
  type TrainEvent,
  type TrainOptions,
  type TrainResult,
  type TrainingData,
  type TrainingPlan,
  type TrainingPlanInput,
} from '../src/index';
import { differing, snapshot } from './helpers';
import { syntheticData } from './synthetic';

let data: TrainingData;

beforeAll(async () => {
  await initBackend('wasm');
  ({ data } = await syntheticData({ nih: 24, rsna: 24, siim: 24 }, 64, 5));
}, 120_000);

/** Two phases: cls warm-up, then alternating RSNA / SIIM batches with teacher forcing and uncertainty weighting. */
function plan(): TrainingPlanInput {
  return {
    name: 'resume-test',
    seed: 11,
    imageSize: 64,
    logEvery: 1,
    model: {
      encoder: { preset: 'densenet-tiny', initFeatures: 8, growthRate: 4 },
      cls: {},
      det: { hiddenChannels: 8, hiddenLayers: 1 },
      seg: { decoderChannels: 4 },
      gate: { kind: 'cls-path' },
    },
    phases: [
      {
        name: 'warm',
        trainable: ['encoder', 'cls'],
        batches: [{ datasets: ['nih'], tasks: ['cls'] }],
        steps: 3,
        batchSize: 4,
        checkpointEvery: 2,
        evalEvery: 2,
        lossWeighting: { type: 'dwa', window: 1 },
      },
      {
        name: 'mtl',
        trainable: ['encoder', 'cls', 'det', 'seg'],
        batches: [
          { datasets: ['rsna'], tasks: ['cls', 'det'] },
          { datasets: ['siim'], tasks: ['cls', 'seg'] },
        ],
        steps: 5,
        batchSize: 4,
        routing: { type: 'teacher-forcing', p: 0.5 },
        lossWeighting: { type: 'uncertainty' },
        schedule: { type: 'cosine', warmupSteps: 1 },
        checkpointEvery: 2,
        evalEvery: 2,
        restoreBest: true,
      },
    ],
  };
}

/** metrics.jsonl without the wall-clock fields. */
function metricsOf(runDir: string): unknown[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { imagesPerSecond: _s, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

/** Train options that stop the run after step `step` of phase `phase` (as Ctrl-C would), passing events on to `seen`. */
function stopAt(phase: string, step: number, seen?: (e: TrainEvent) => void): Pick<TrainOptions, 'signal' | 'onEvent'> {
  const stop = new AbortController();
  return {
    signal: stop.signal,
    onEvent: (e) => {
      seen?.(e);
      if (e.type === 'step' && e.phase === phase && e.step === step) stop.abort();
    },
  };
}

/** Resumes the run in `runDir` into a fresh model, as a fresh process would (to its end unless `options` stop it). */
function resumeRun(resolved: TrainingPlan, runDir: string, options: Partial<TrainOptions> = { onEvent: null }) {
  return train(resolved, {
    runDir,
    data,
    resume: true,
    model: buildModel(resolved.model, resolved.seed),
    ...options,
  });
}

/** A resumed run `b` completed on the bytes of the uninterrupted run `a`: its weights and its metrics log. */
function expectSameRun(a: TrainResult, dirA: string, b: TrainResult, dirB: string): void {
  expect(b.status).toBe('completed');
  expect(differing(snapshot(a.model), snapshot(b.model))).toEqual([]);
  expect(metricsOf(dirB)).toEqual(metricsOf(dirA));
}

/** Resumes the run in `dirB` to its end and checks it ends as the uninterrupted run `a` did; frees both models. */
async function resumeToSameEnd(resolved: TrainingPlan, a: TrainResult, dirA: string, dirB: string): Promise<void> {
  const b = await resumeRun(resolved, dirB);
  expectSameRun(a, dirA, b, dirB);
  a.model.dispose();
  b.model.dispose();
}

describe('train', () => {
  it('a run stopped mid-phase and resumed ends exactly where an uninterrupted run ends', async () => {
    const resolved = parsePlan(plan());
    const dirA = mkdtempSync(join(tmpdir(), 'run-a-'));
    const a = await train(resolved, { runDir: dirA, data, onEvent: null });
    expect(a.status).toBe('completed');

    const dirB = mkdtempSync(join(tmpdir(), 'run-b-'));
    const events: TrainEvent[] = [];
    const b1 = await train(resolved, { runDir: dirB, data, ...stopAt('mtl', 3, (e) => events.push(e)) });
    expect(b1.status).toBe('aborted');
    expect(b1.position).toMatchObject({ phase: 'mtl', step: 3 });
    expect(
      events.filter((e) => e.type === 'checkpoint').map((e) => (e as { phase: string; step: number }).step),
    ).toContain(2);
    b1.model.dispose();
    // A fresh process would build a fresh model: resume loads the step-2 checkpoint of phase mtl into it.
    const latest = (await loadLatestCheckpoint(join(dirB, 'checkpoints')))!;
    expect(latest.manifest.position).toMatchObject({ phase: 'mtl', step: 2 });
    expect(latest.optimizer!.slots.some((s) => s.key.startsWith('weighting/'))).toBe(true);
    const b2 = await resumeRun(resolved, dirB);
    expectSameRun(a, dirA, b2, dirB);
    // restoreBest: the run ends on the weights of the best validation score of phase mtl.
    const bestRun = buildModel(resolved.model, 5);
    await restoreBlocks(bestRun, await loadCheckpoint(join(dirA, 'checkpoints', 'best-mtl')));
    expect(differing(snapshot(a.model), snapshot(bestRun))).toEqual([]);
    bestRun.dispose();
    expect(b2.gate?.threshold).toBe(a.gate?.threshold);
    expect(JSON.stringify(b2.validation)).toBe(JSON.stringify(a.validation));
    a.model.dispose();
    b2.model.dispose();
  });

  it('with gradient accumulation: one log line per optimizer step, and a stopped run resumes to the same bytes', async () => {
    const p = plan();
    const mtl = { ...p.phases[1]!, steps: 4, accumulate: 2, restoreBest: false, evalEvery: 0 };
    const resolved = parsePlan({
      ...p,
      name: 'resume-accumulate',
      phases: [{ ...p.phases[0]!, steps: 2, accumulate: 4, evalEvery: 0 }, mtl],
    });
    const dirA = mkdtempSync(join(tmpdir(), 'run-acc-a-'));
    const a = await train(resolved, { runDir: dirA, data, onEvent: null });
    const steps = metricsOf(dirA).filter((l) => (l as { type: string }).type === 'step');
    expect(steps.map((l) => `${(l as { phase: string }).phase}:${(l as { step: number }).step}`)).toEqual([
      'warm:1',
      'warm:2',
      'mtl:1',
      'mtl:2',
      'mtl:3',
      'mtl:4',
    ]);
    const dirB = mkdtempSync(join(tmpdir(), 'run-acc-b-'));
    const b1 = await train(resolved, { runDir: dirB, data, ...stopAt('mtl', 3) });
    expect(b1.status).toBe('aborted');
    b1.model.dispose();
    await resumeToSameEnd(resolved, a, dirA, dirB);
  });

  it('with pcgrad and gradnorm phases: stopped in each and resumed, the run ends on the same bytes', async () => {
    const p = plan();
    const joint = {
      trainable: ['encoder', 'cls', 'det', 'seg'] as ('encoder' | 'cls' | 'det' | 'seg')[],
      batches: [
        { datasets: ['rsna' as const, 'siim' as const], tasks: ['cls' as const, 'det' as const, 'seg' as const] },
      ],
      steps: 4,
      batchSize: 4,
      checkpointEvery: 2,
      evalEvery: 0,
    };
    const resolved = parsePlan({
      ...p,
      name: 'resume-gradient-weightings',
      phases: [
        { ...joint, name: 'pc', lossWeighting: { type: 'pcgrad' }, routing: { type: 'teacher-forcing', p: 0.5 } },
        { ...joint, name: 'gn', lossWeighting: { type: 'gradnorm', learningRate: 0.1 } },
      ],
    });
    const dirA = mkdtempSync(join(tmpdir(), 'run-gw-a-'));
    const a = await train(resolved, { runDir: dirA, data, onEvent: null });
    expect(a.status).toBe('completed');
    const weights = metricsOf(dirA)
      .filter((l) => (l as { type: string; phase: string }).type === 'step' && (l as { phase: string }).phase === 'gn')
      .map((l) => (l as { weights: Record<string, number> }).weights);
    expect(weights.at(-1)).not.toEqual({ cls: 1, det: 1, seg: 1 }); // GradNorm moved its weights
    const dirB = mkdtempSync(join(tmpdir(), 'run-gw-b-'));
    const b1 = await train(resolved, { runDir: dirB, data, ...stopAt('pc', 3) });
    expect(b1.status).toBe('aborted');
    b1.model.dispose();
    const b2 = await resumeRun(resolved, dirB, stopAt('gn', 3));
    expect(b2.status).toBe('aborted');
    const latest = (await loadLatestCheckpoint(join(dirB, 'checkpoints')))!;
    expect(latest.state.weighting?.type).toBe('gradnorm');
    b2.model.dispose();
    await resumeToSameEnd(resolved, a, dirA, dirB);
  });

  it('refuses to resume a run folder of another plan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-c-'));
    const p = plan();
    p.phases = [p.phases[0]!];
    p.phases[0]!.steps = 2;
    const r = await train(p, { runDir: dir, data, onEvent: null });
    r.model.dispose();
    await expect(train({ ...p, seed: 12 }, { runDir: dir, data, resume: true, onEvent: null })).rejects.toThrow(
      /another plan/,
    );
    await expect(train(p, { runDir: dir, data, onEvent: null })).rejects.toThrow(/already holds checkpoints/);
  });

  it('a NaN loss stops the run with the phase, step and loss named, keeping the last good checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-nan-'));
    const p = plan();
    p.phases = [{ ...p.phases[0]!, steps: 4, evalEvery: 0 }];
    const resolved = parsePlan(p);
    const model = buildModel(resolved.model, resolved.seed);
    let atStep2: Map<string, Float32Array> | null = null;
    const error = await train(resolved, {
      runDir: dir,
      data,
      model,
      onEvent: (e) => {
        if (e.type === 'checkpoint' && e.step === 2) {
          atStep2 = new Map(model.trainableVariables().map((v) => [v.key, Float32Array.from(v.variable.dataSync())]));
          // A fault right after the step-2 checkpoint: the cls logits layer turns to NaN, so step 3's loss is NaN.
          const w = model.heads.cls!.trainableWeights[0]!;
          const nan = tf.fill(w.shape as number[], Number.NaN);
          w.write(nan);
          nan.dispose();
        }
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toMatch(
      /Training stopped in phase warm at step 3: loss cls is NaN; the update was not applied and the last good checkpoint is .*p00-s0000002/,
    );
    // No update reached the encoder.
    for (const v of model.trainableVariables())
      if (v.key.startsWith('encoder/'))
        expect(Array.from(v.variable.dataSync())).toEqual(Array.from(atStep2!.get(v.key)!));
    const latest = (await loadLatestCheckpoint(join(dir, 'checkpoints')))!;
    expect(latest.manifest.position.step).toBe(2);
    const ckpt = await loadCheckpoint(latest.path);
    const restored = buildModel(resolved.model, 99);
    await restoreBlocks(restored, ckpt);
    for (const [, block] of restored.blocks())
      for (const w of block.weights) expect(w.read().dataSync().every(Number.isFinite)).toBe(true);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; reason?: string });
    expect(lines.at(-1)).toMatchObject({ type: 'stopped', reason: 'loss cls is NaN' });
    model.dispose();
    restored.dispose();
  });
});
