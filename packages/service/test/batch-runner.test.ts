import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, type GrayImage } from '@multichexnet/core';
import type { Pipeline, PipelineResult } from '@multichexnet/runtime';
import { openPipeline } from '../src/index';
import { BatchRunner } from '../src/screen/batch-runner';
import { writeTestModel } from './helpers/model';

let root: string;
let pipeline: Pipeline;
const batches: number[] = [];

/** A smooth 8-bit film with a seed-dependent bright blob. */
function film(seed: number, side = 80): GrayImage {
  const data = new Uint8Array(side * side);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      data[y * side + x] = Math.round(
        40 + (120 * x) / side + 80 * Math.exp(-(((x - 10 - 7 * seed) / 12) ** 2 + ((y - side / 2) / 15) ** 2)),
      );
  return { width: side, height: side, data };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcx-batch-'));
  await writeTestModel(join(root, 'model'));
  const loaded = await openPipeline(join(root, 'model'), { threads: 1 });
  // Count the batch sizes that reach onnxruntime (the real pipeline underneath).
  const runBatch = loaded.pipeline.runBatch.bind(loaded.pipeline);
  pipeline = Object.assign(Object.create(loaded.pipeline) as Pipeline, {
    runBatch: (images: Parameters<Pipeline['runBatch']>[0]) => {
      batches.push(images.length);
      return runBatch(images);
    },
  });
}, 60_000);

afterAll(async () => {
  await pipeline?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('BatchRunner', () => {
  it('groups concurrent images into batches of at most maxBatch with the same results as one by one', async () => {
    const images = Array.from({ length: 5 }, (_, i) => film(i));
    const single: PipelineResult[] = [];
    for (const img of images) single.push(await pipeline.run(img));
    batches.length = 0;
    const runner = new BatchRunner(pipeline, 2, 50);
    const grouped = await Promise.all(images.map((img) => runner.run(img)));
    expect(batches).toEqual([2, 2, 1]);
    grouped.forEach((r, i) => {
      for (const [k, p] of Object.entries(single[i]!.probabilities!)) expect(r.probabilities![k]).toBeCloseTo(p, 5);
      expect(r.gate.positive).toBe(single[i]!.gate.positive);
    });
  });

  it('fails only the bad image of a batch', async () => {
    const runner = new BatchRunner(pipeline, 3, 50);
    const bad: GrayImage = { width: 10, height: 10, data: new Uint8Array(7) };
    const out = await Promise.allSettled([runner.run(film(1)), runner.run(bad), runner.run(film(2))]);
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((out[1] as PromiseRejectedResult).reason).toBeInstanceOf(DataError);
  });

  it('runs alone with maxBatch 1, and flushes a partial batch after waitMs', async () => {
    batches.length = 0;
    await new BatchRunner(pipeline, 1, 1000).run(film(3));
    expect(batches).toEqual([1]);
    batches.length = 0;
    const t0 = Date.now();
    await new BatchRunner(pipeline, 8, 30).run(film(4));
    expect(batches).toEqual([1]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
  });
});
