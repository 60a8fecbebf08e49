import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { builtinPlan, parsePlan, train, type TrainingData, type TrainingPlan } from '../src/index';
import { syntheticData } from './synthetic';

/*
 * Long-run stability: 1,000 training steps of the tiny preset's model (densenet-tiny encoder, CheXCls, CheXDet,
 * CheXSeg and the gate, as `multichexnet-joint:tiny` builds them) in one joint multi-task phase, on 64 px
 * synthetic films in batches of 2 so that it fits CI. The whole loop runs: batches from the prefetching stream,
 * teacher forcing, uncertainty weighting, Adam, validation, periodic checkpoints and metrics.jsonl.
 *
 * Each sample follows a full garbage collection, so what it measures is what the run holds, not garbage not yet
 * collected. The number of live tensors must be exactly the same at every sample after the first steps; the JS
 * heap and resident memory must stop growing: their least-squares slopes over the second half of the run must stay
 * under 2 KiB and 16 KiB per step. The smallest image batch a step could leak is 2 x 64 x 64 float32 = 32 KiB; RSS
 * moves by a few MiB between samples as the allocator returns pages, which puts about 4 KiB/step of noise on its
 * slope, hence the wider bound.
 */
const STEPS = 1000;
const BATCH = 2;
const SAMPLE_EVERY = 20;
const WARMUP = 20;
const MAX_HEAP_SLOPE = 2 * 1024;
const MAX_RSS_SLOPE = 16 * 1024;

/** V8's collector, exposed at run time (vitest starts its workers without --expose-gc). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

let data: TrainingData;

beforeAll(async () => {
  await initBackend('wasm');
  ({ data } = await syntheticData({ nih: 24, rsna: 24, siim: 24 }, 64, 13));
}, 120_000);

function longPlan(): TrainingPlan {
  const tiny = builtinPlan('multichexnet-joint', { size: 'tiny' });
  const mtl = tiny.phases.find((p) => p.stage === 'mtl')!;
  return parsePlan({
    ...tiny,
    name: 'long-run',
    imageSize: 64,
    logEvery: 50,
    phases: [
      {
        ...mtl,
        steps: STEPS,
        batchSize: BATCH,
        trainable: ['encoder', 'cls', 'det', 'seg'],
        evalEvery: 500,
        checkpointEvery: 250,
        restoreBest: false,
      },
    ],
  });
}

/** Least-squares slope of y over x. */
function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i]! - mx) * (y[i]! - my);
    den += (x[i]! - mx) ** 2;
  }
  return num / den;
}

describe(`long run: ${STEPS} steps of the tiny preset`, () => {
  it('keeps the tensor count constant and resident memory flat', async () => {
    const plan = longPlan();
    expect(plan.model).toEqual(parsePlan(builtinPlan('multichexnet-joint', { size: 'tiny' })).model);
    const gc = exposeGc();
    const samples: { step: number; tensors: number; rss: number; heap: number }[] = [];
    const started = performance.now();
    const r = await train(plan, {
      runDir: mkdtempSync(join(tmpdir(), 'mcx-long-')),
      data,
      onEvent: (e) => {
        if (e.type !== 'step' || e.step % SAMPLE_EVERY !== 0) return;
        gc();
        const m = process.memoryUsage();
        samples.push({ step: e.step, tensors: tf.memory().numTensors, rss: m.rss, heap: m.heapUsed });
      },
    });
    const seconds = (performance.now() - started) / 1000;
    expect(r.status).toBe('completed');
    expect(samples.at(-1)!.step).toBe(STEPS);
    for (const v of Object.values(
      (r.validation?.cls as { perClassAuroc?: Record<string, number> } | undefined)?.perClassAuroc ?? {},
    ))
      expect(Number.isNaN(v) || (v >= 0 && v <= 1)).toBe(true);
    r.model.dispose();

    const steady = samples.filter((s) => s.step > WARMUP);
    expect(
      new Set(steady.map((s) => s.tensors)).size,
      `tensor counts ${[...new Set(steady.map((s) => s.tensors))].join(', ')}`,
    ).toBe(1);
    const late = samples.filter((s) => s.step > STEPS / 2);
    const steps = late.map((s) => s.step);
    const rssSlope = slope(
      steps,
      late.map((s) => s.rss),
    );
    const heapSlope = slope(
      steps,
      late.map((s) => s.heap),
    );
    const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
    console.log(
      `long run: ${STEPS} steps in ${seconds.toFixed(1)} s; tensors ${steady[0]!.tensors} throughout; RSS ${mib(samples[0]!.rss)} MiB at step ${samples[0]!.step}, ` +
        `${mib(late[0]!.rss)} at ${late[0]!.step}, ${mib(late.at(-1)!.rss)} at ${STEPS} (late slope ${(rssSlope / 1024).toFixed(2)} KiB/step); ` +
        `JS heap ${mib(late[0]!.heap)} -> ${mib(late.at(-1)!.heap)} MiB (late slope ${(heapSlope / 1024).toFixed(2)} KiB/step)`,
    );
    expect(Math.abs(heapSlope)).toBeLessThan(MAX_HEAP_SLOPE);
    expect(Math.abs(rssSlope)).toBeLessThan(MAX_RSS_SLOPE);
  }, 300_000);
});
