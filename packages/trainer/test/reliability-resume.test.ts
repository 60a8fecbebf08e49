import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend, setLogSink } from '@multichexnet/core';
import { buildModel } from '@multichexnet/model';
import {
  openTrainingData,
  parsePlan,
  train,
  type TrainEvent,
  type TrainingData,
  type TrainingPlan,
  type TrainingPlanInput,
} from '../src/index';
import { differing, snapshot } from './helpers';
import { syntheticData } from './synthetic';

/*
 * Resuming after damage: a checkpoint whose file no longer matches its checksum, a garbled latest.json, stale
 * temporary folders of a save a crash cut short. The rule (see loadResumeCheckpoint): resume skips a damaged
 * checkpoint for the newest intact one with a warning naming the damage, and still ends exactly where an
 * uninterrupted run ends; with no intact checkpoint it refuses, and it never starts over silently. Also: the
 * skipped-sample count of onBadSample 'skip' reaches the run's eval.json.
 */

let data: TrainingData;
let root: string;
const warnings: string[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  ({ data, root } = await syntheticData({ nih: 24, rsna: 0, siim: 0 }, 64, 7));
  setLogSink((level, m) => {
    if (level === 'warn') warnings.push(m);
  });
}, 120_000);
afterAll(() => setLogSink(null));

function plan(): TrainingPlan {
  const p: TrainingPlanInput = {
    name: 'resume-damage',
    seed: 3,
    imageSize: 64,
    logEvery: 1,
    keepCheckpoints: 3,
    model: { encoder: { preset: 'densenet-tiny', initFeatures: 8, growthRate: 4 }, cls: {} },
    phases: [
      {
        name: 'cls',
        trainable: ['encoder', 'cls'],
        batches: [{ datasets: ['nih'], tasks: ['cls'] }],
        steps: 7,
        batchSize: 4,
        checkpointEvery: 2,
      },
    ],
  };
  return parsePlan(p);
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

/** A run stopped after `stopAt` steps (checkpoints at 2, 4, 6): what a crash leaves, minus the last steps. */
async function interrupted(stopAt: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mcx-damage-'));
  const stop = new AbortController();
  const r = await train(plan(), {
    runDir: dir,
    data,
    signal: stop.signal,
    onEvent: (e) => e.type === 'step' && e.step === stopAt && stop.abort(),
  });
  expect(r.status).toBe('aborted');
  r.model.dispose();
  return dir;
}

let reference: { dir: string; weights: Map<string, Float32Array> };

async function resume(dir: string): Promise<{ events: TrainEvent[]; weights: Map<string, Float32Array> }> {
  const events: TrainEvent[] = [];
  const p = plan();
  const r = await train(p, {
    runDir: dir,
    data,
    resume: true,
    model: buildModel(p.model, p.seed),
    onEvent: (e) => events.push(e),
  });
  expect(r.status).toBe('completed');
  const weights = snapshot(r.model);
  r.model.dispose();
  return { events, weights };
}

describe('resume after damage', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcx-damage-ref-'));
    const r = await train(plan(), { runDir: dir, data, onEvent: null });
    reference = { dir, weights: snapshot(r.model) };
    r.model.dispose();
  }, 120_000);

  it('a damaged last checkpoint: resumes from the newest intact one, says so, and ends exactly like the uninterrupted run', async () => {
    const dir = await interrupted(5);
    const ckpt = join(dir, 'checkpoints');
    expect(
      readdirSync(ckpt)
        .filter((n) => n.startsWith('p00'))
        .sort(),
    ).toEqual(['p00-s0000002', 'p00-s0000004']);
    const enc = join(ckpt, 'p00-s0000004', 'encoder.safetensors');
    const bytes = readFileSync(enc);
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(enc, bytes);
    warnings.length = 0;
    const { events, weights } = await resume(dir);
    expect(warnings.join('\n')).toMatch(
      /Checkpoint file checksum mismatch: the file was altered or damaged \(file .*p00-s0000004\/encoder\.safetensors, field sha256\).*; resuming from p00-s0000002, the newest intact checkpoint/,
    );
    expect(events.find((e) => e.type === 'run-start')).toMatchObject({ resumedFrom: { phase: 'cls', step: 2 } });
    expect(differing(reference.weights, weights)).toEqual([]);
    expect(metricsOf(dir)).toEqual(metricsOf(reference.dir));
  });

  it('a garbled latest.json: resumes from the newest intact checkpoint instead of starting over', async () => {
    const dir = await interrupted(5);
    writeFileSync(join(dir, 'checkpoints', 'latest.json'), '{"checkpoint": "p00-s00');
    warnings.length = 0;
    const { events, weights } = await resume(dir);
    expect(warnings.join('\n')).toMatch(
      /Checkpoint pointer is damaged \(file .*latest\.json\).*; resuming from p00-s0000004/,
    );
    expect(events.find((e) => e.type === 'run-start')).toMatchObject({ resumedFrom: { phase: 'cls', step: 4 } });
    expect(differing(reference.weights, weights)).toEqual([]);
    expect(metricsOf(dir)).toEqual(metricsOf(reference.dir));
  });

  it('every checkpoint damaged: refuses with the damage named, and leaves the folder as it was', async () => {
    const dir = await interrupted(5);
    const ckpt = join(dir, 'checkpoints');
    for (const n of ['p00-s0000002', 'p00-s0000004']) writeFileSync(join(ckpt, n, 'state.json'), '{}');
    const before = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    const err = await train(plan(), { runDir: dir, data, resume: true, onEvent: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /^No intact checkpoint to resume from: Checkpoint file checksum mismatch: the file was altered or damaged \(file .*p00-s0000004\/state\.json, field sha256\)/,
    );
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(before);
    expect(
      readdirSync(ckpt)
        .filter((n) => n.startsWith('p00'))
        .sort(),
    ).toEqual(['p00-s0000002', 'p00-s0000004']);
  });

  it('temporary folders of a save cut short are removed on resume; the run completes', async () => {
    const dir = await interrupted(3);
    const stale = join(dir, 'checkpoints', '.tmp-p00-s0000004-12345-abcdef');
    mkdirSync(stale);
    writeFileSync(join(stale, 'encoder.safetensors'), 'half a file');
    const { weights } = await resume(dir);
    expect(existsSync(stale)).toBe(false);
    expect(differing(reference.weights, weights)).toEqual([]);
  });
});

describe('onBadSample reaches the run', () => {
  it('"skip": the bad images are left out and counted in the result and eval.json; "fail": the first one stops the run, named', async () => {
    // Three NIH films of the same synthetic set, damaged in place: truncated, replaced by a 1x1 PNG, by text.
    const dir = mkdtempSync(join(tmpdir(), 'mcx-badroot-'));
    const nih = join(dir, 'nih');
    const images = join(nih, 'images');
    mkdirSync(images, { recursive: true });
    for (const f of readdirSync(join(root, 'nih')))
      if (f !== 'images') writeFileSync(join(nih, f), readFileSync(join(root, 'nih', f)));
    const names = readdirSync(join(root, 'nih', 'images')).sort();
    for (const n of names) writeFileSync(join(images, n), readFileSync(join(root, 'nih', 'images', n)));
    const [a, b, c] = names;
    writeFileSync(join(images, a!), readFileSync(join(images, a!)).subarray(0, 200));
    writeFileSync(
      join(images, b!),
      Buffer.from(
        '89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b550000000a4944415408d763600000000200015d2c1d1e0000000049454e44ae426082',
        'hex',
      ),
    );
    writeFileSync(join(images, c!), 'not an image');
    const split = { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 7 };
    const p = plan();
    const skipping = await openTrainingData({ nih }, split, { onBadSample: 'skip' });
    const run = mkdtempSync(join(tmpdir(), 'mcx-skiprun-'));
    const r = await train(
      { ...p, phases: [{ ...p.phases[0]!, steps: 8, checkpointEvery: 0 }] },
      { runDir: run, data: skipping, onEvent: null },
    );
    r.model.dispose();
    // every epoch walked the training split, validation and the final evaluation the val split
    const inTrainOrVal = [a, b, c].filter((n) =>
      [...skipping.nih!.train.entries, ...skipping.nih!.val.entries].some((e) => e.id === n),
    ).length;
    expect(inTrainOrVal).toBeGreaterThan(0);
    expect(r.data).toEqual({ onBadSample: 'skip', skipped: { nih: inTrainOrVal }, totalSkipped: inTrainOrVal });
    const evalJson = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as { data: unknown };
    expect(evalJson.data).toEqual(r.data);

    const failing = await openTrainingData({ nih }, split);
    const err = await train(p, {
      runDir: mkdtempSync(join(tmpdir(), 'mcx-failrun-')),
      data: failing,
      onEvent: null,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(new RegExp(`file ${nih}/images/(${[a, b, c].join('|')})`));
    rmSync(dir, { recursive: true, force: true });
  });
});
