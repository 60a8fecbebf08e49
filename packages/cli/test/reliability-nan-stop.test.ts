import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { buildModel } from '@multichexnet/model';
import { loadLatestCheckpoint, parsePlan, restoreBlocks } from '@multichexnet/trainer';
import { cli, lines } from './helpers';
import { clsPhase, tinyPlan } from './plans';
import { synthesize } from './reliability-helpers';

/*
 * A run that diverges, through the real CLI. The realistic cause: a learning rate far too high (1e12 with SGD).
 * Its training loss stays finite for a while (BatchNorm normalises with the batch's own statistics) while the
 * moving variance overflows, so the stop must come from the weights as well as from the loss. The run must stop
 * with exit 1 and one error line naming phase and step, keep the last good checkpoint (finite, verified, named in
 * the message, the one latest.json points to) and write nothing that looks like a finished run.
 */
let dir: string;
let first: { code: number; out: string; err: string };
const PLAN = tinyPlan('diverges', 4, [
  clsPhase('warm', 2),
  clsPhase('hot', 30, { checkpointEvery: 1, optimizer: { type: 'sgd', learningRate: 1e12, momentum: 0.9 } }),
]);
const STOP =
  /^multichexnet: error: Training stopped in phase (\w+) at step (\d+): (.+?); nothing was saved and the last good checkpoint is (\S+) /;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-nan-'));
  await synthesize(dir, 'data', { nih: 24, rsna: 0, siim: 0 }, 9);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(PLAN));
  first = await cli(dir, 'train', 'plan.json', '--data', 'data', '--run', 'runs/nan');
}, 120_000);

describe('a diverging run', () => {
  it('stops with exit 1 and one error line naming the phase, the step and the non-finite value', () => {
    expect(first.code).toBe(1);
    const errors = lines(first.err).filter((l) => l.startsWith('multichexnet: error:'));
    expect(errors).toHaveLength(1);
    const m = STOP.exec(errors[0]!);
    expect(m, errors[0]).not.toBeNull();
    expect(m![1]).toBe('hot');
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeLessThan(30);
    expect(m![3]).toMatch(/(loss \w+|weight \S+ of \w+) is (NaN|-?Infinity)/);
    expect(first.out).toBe('');
    const recs = lines(readFileSync(join(dir, 'runs', 'nan', 'metrics.jsonl'), 'utf8')).map(
      (l) => JSON.parse(l) as { type: string; phase: string; step: number },
    );
    expect(recs.at(-1)).toMatchObject({ type: 'stopped', phase: 'hot', step: Number(m![2]) });
    // Every logged loss before the stop was finite: the divergence hid behind finite losses.
    for (const r of recs.filter((x) => x.type === 'step'))
      for (const v of Object.values((r as unknown as { losses: Record<string, number> }).losses))
        expect(Number.isFinite(v)).toBe(true);
    // Nothing that looks like a finished run.
    for (const f of ['weights/model.json', 'eval.json', 'eval-test.json', 'model.onnx', 'report.html'])
      expect(existsSync(join(dir, 'runs', 'nan', f)), f).toBe(false);
  });

  it('keeps the last good checkpoint: the one named, the one latest.json points to, verified and finite', async () => {
    const named = STOP.exec(lines(first.err).find((l) => l.startsWith('multichexnet: error:'))!)![4]!;
    const ckpt = await loadLatestCheckpoint(join(dir, 'runs', 'nan', 'checkpoints'));
    expect(ckpt).not.toBeNull();
    expect(ckpt!.path).toBe(named);
    expect(ckpt!.manifest.position.phase).toBe('hot');
    await initBackend('wasm');
    const plan = parsePlan(PLAN);
    const tensorsBefore = tf.memory().numTensors;
    const model = buildModel(plan.model, plan.seed);
    try {
      await restoreBlocks(model, ckpt!);
      let values = 0;
      for (const [, block] of model.blocks()) {
        for (const w of block.weights) {
          const v = w.read().dataSync();
          values += v.length;
          expect(
            v.every((x) => Number.isFinite(x)),
            `${basename(named)} ${w.name}`,
          ).toBe(true);
        }
      }
      expect(values).toBeGreaterThan(1000);
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('--resume loads that checkpoint and, the plan being deterministic, stops at the same step again', async () => {
    const again = await cli(dir, 'train', 'plan.json', '--data', 'data', '--run', 'runs/nan', '--resume');
    expect(again.code).toBe(1);
    const before = STOP.exec(lines(first.err).find((l) => l.startsWith('multichexnet: error:'))!)!;
    const after = STOP.exec(lines(again.err).find((l) => l.startsWith('multichexnet: error:'))!)!;
    expect(again.err).toContain(`(resumed at hot step ${Number(basename(before[4]!).slice(5))})`);
    expect(after.slice(1, 5)).toEqual(before.slice(1, 5));
  });
});
