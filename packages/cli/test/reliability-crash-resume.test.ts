import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@multichexnet/core';
import { loadCheckpoint, loadLatestCheckpoint } from '@multichexnet/trainer';
import { clsPhase, tinyPlan } from './plans';
import { finished, metricsWithoutClock, runChild, spawnCli, synthesize, type ChildResult } from './reliability-helpers';

/*
 * Crash safety end to end: the real `multichexnet train` in its own process, killed with SIGKILL (no handler
 * runs, nothing is flushed) at seeded moments after a checkpoint appeared, possibly in the middle of the next
 * save, then `--resume`d, again and again, until it finishes. It must end with exactly what an uninterrupted run
 * of the same plan and seed ends with: the same metrics.jsonl (minus the clock), the same eval.json and
 * eval-test.json and byte-identical weights. After every crash, every checkpoint folder that is visible verifies
 * against its checksums and latest.json names one of them: a half-written checkpoint is never visible.
 * Both runs use one wasm thread (CHILD_ENV): results are bit-identical only at the same thread count.
 */
let dir: string;
const ARGS = ['--data', 'data', '--no-export', '--no-report', '--json'];
// Two phases so that resumes land in both; the second saves after every step, so a kill often hits a save.
const PLAN = tinyPlan('crash', 8, [
  clsPhase('first', 30, { checkpointEvery: 3 }),
  clsPhase('second', 30, { checkpointEvery: 1, optimizer: { type: 'sgd', learningRate: 0.01 } }),
]);
let reference: ChildResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-crash-'));
  await synthesize(dir, 'data', { nih: 24, rsna: 0, siim: 0 }, 5);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(PLAN));
  reference = await runChild(dir, ['train', 'plan.json', '--run', 'runs/reference', ...ARGS]);
  expect(reference.code, reference.err).toBe(0);
}, 180_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The checkpoint latest.json names, or null (no checkpoint yet, or the pointer is being replaced right now). */
function pointed(ckpts: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(ckpts, 'latest.json'), 'utf8')) as { checkpoint: string }).checkpoint;
  } catch {
    return null;
  }
}

/**
 * Starts train (`--resume` after the first crash), waits until the pointer has moved `saves` times, then kills the
 * process with SIGKILL after a seeded delay (0 to 150 ms: inside a step, a validation or a save). Returns how the
 * process ended (it may have finished first).
 */
async function trainAndKill(run: string, resume: boolean, saves: number, delayMs: number): Promise<ChildResult> {
  const ckpts = join(dir, run, 'checkpoints');
  let seen = pointed(ckpts);
  let moves = 0;
  const child = spawnCli(dir, ['train', 'plan.json', '--run', run, ...ARGS, ...(resume ? ['--resume'] : [])]);
  const done = finished(child);
  let exited = false;
  void done.then(() => (exited = true));
  while (!exited) {
    const now = pointed(ckpts);
    if (now !== null && now !== seen) {
      seen = now;
      if (++moves === saves) {
        await sleep(delayMs);
        child.kill('SIGKILL');
        break;
      }
    }
    await sleep(3);
  }
  return done;
}

/** Every visible checkpoint folder verifies, and the pointer names a verified one. */
async function assertCheckpointsIntact(ckpts: string): Promise<number> {
  const folders = readdirSync(ckpts).filter((n) => /^p\d{2}-s\d{7}$/.test(n));
  for (const f of folders)
    await expect(loadCheckpoint(join(ckpts, f)), f).resolves.toMatchObject({ path: join(ckpts, f) });
  const latest = await loadLatestCheckpoint(ckpts);
  expect(latest).not.toBeNull();
  expect(folders).toContain(basename(latest!.path));
  return folders.length;
}

describe('train killed with SIGKILL and resumed', () => {
  it('ends exactly where an uninterrupted run ends, and never shows a half-written checkpoint', async () => {
    const run = join('runs', 'crashed');
    const rng = createRng(2026);
    let crashes = 0;
    const positions: number[] = [];
    let cutSaves = 0;
    let last: ChildResult | null = null;
    for (let attempt = 0; attempt < 12; attempt++) {
      // Four crashes, then let it finish.
      if (crashes < 4) {
        const r = await trainAndKill(run, attempt > 0, rng.int(1, 7), rng.int(0, 150));
        if (r.signal === 'SIGKILL') {
          crashes++;
          expect(r.out).toBe('');
          await assertCheckpointsIntact(join(dir, run, 'checkpoints'));
          const at = (await loadLatestCheckpoint(join(dir, run, 'checkpoints')))!.manifest.position.globalStep;
          // Each life of the process kept what it saved: no work is lost twice, none is redone from zero.
          expect(at).toBeGreaterThan(positions.at(-1) ?? 0);
          positions.push(at);
          // A temporary folder left behind means the kill cut a save short (invisible to resume by design).
          if (
            readdirSync(join(dir, run, 'checkpoints')).some(
              (n) => n.startsWith('.tmp-') && !n.startsWith('.tmp-removed-'),
            )
          )
            cutSaves++;
          if (attempt > 0) expect(r.err).toMatch(/\(resumed at \w+ step \d+\)/);
          continue;
        }
        last = r;
        break;
      }
      last = await runChild(dir, ['train', 'plan.json', '--run', run, ...ARGS, '--resume']);
      break;
    }
    expect(crashes).toBe(4);
    expect(last!.code, last!.err).toBe(0);
    const resumed = /\(resumed at (\w+) step (\d+)\)/.exec(last!.err);
    expect(resumed, last!.err).not.toBeNull();
    expect(positions).toHaveLength(4);
    console.log(
      `crash-resume: ${crashes} SIGKILLs survived; checkpoints at global steps ${positions.join(', ')}; final resume at ${resumed![1]} step ${resumed![2]}; ${cutSaves} kill(s) cut a save short`,
    );
    const a = join(dir, 'runs', 'reference');
    const b = join(dir, run);
    expect(metricsWithoutClock(b)).toEqual(metricsWithoutClock(a));
    expect(JSON.parse(readFileSync(join(b, 'eval.json'), 'utf8'))).toEqual(
      JSON.parse(readFileSync(join(a, 'eval.json'), 'utf8')),
    );
    expect(JSON.parse(readFileSync(join(b, 'eval-test.json'), 'utf8'))).toEqual(
      JSON.parse(readFileSync(join(a, 'eval-test.json'), 'utf8')),
    );
    const ref = JSON.parse(reference.out) as { test: unknown; validation: unknown };
    const res = JSON.parse(last!.out) as { test: unknown; validation: unknown };
    expect(res.test).toEqual(ref.test);
    expect(res.validation).toEqual(ref.validation);
    const blocks = readdirSync(join(a, 'weights')).filter((f) => f.endsWith('.safetensors'));
    expect(blocks.sort()).toEqual(['cls.safetensors', 'encoder.safetensors']);
    for (const f of blocks)
      expect(readFileSync(join(b, 'weights', f)).equals(readFileSync(join(a, 'weights', f))), f).toBe(true);
    expect(existsSync(join(b, 'checkpoints', 'latest.json'))).toBe(true);
    // No stale temporary folder of an interrupted save is left behind by the final resume.
    expect(readdirSync(join(b, 'checkpoints')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  }, 240_000);
});
