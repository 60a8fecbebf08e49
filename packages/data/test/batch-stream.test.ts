import { describe, expect, it } from 'vitest';
import { ConfigError, DataError, tf } from '@multichexnet/core';
import { createBatchStream } from '../src/batching/batch-stream';
import { batchToTensors, disposeBatchTensors } from '../src/batching/batch-to-tensors';
import { createMemoryCache } from '../src/batching/sample-cache';
import { splitByPatient } from '../src/splits/patient-split';
import { PATHOLOGIES, pathologyIndex } from '../src/datasets/pathologies';
import type { Batch } from '../src/batching/batch';
import { memoryNih, memoryRsna, memorySiim } from './helpers/memory-datasets';

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('createBatchStream', () => {
  it('mixes NIH, RSNA and SIIM in typed batches with NaN labels and task availability', async () => {
    const [nih, rsna, siim] = await Promise.all([memoryNih(6, 3), memoryRsna(4), memorySiim(4)]);
    const stream = createBatchStream({
      datasets: [nih, rsna, siim],
      batchSize: 5,
      shuffle: false,
      preprocess: { size: 16 },
    });
    expect([stream.numSamples, stream.batchesPerEpoch]).toEqual([14, 3]);
    const batches = await collect(stream);
    expect(batches.map((b) => b.size)).toEqual([5, 5, 4]);
    const all = batches.flatMap((b) => Array.from({ length: b.size }, (_, i) => ({ b, i })));
    const C = PATHOLOGIES.length;
    const row = (x: { b: Batch; i: number }) => Array.from(x.b.labels.subarray(x.i * C, (x.i + 1) * C));
    const first = all[0] as { b: Batch; i: number };
    expect(first.b.images.length).toBe(5 * 16 * 16);
    expect(first.b.sources[0]).toBe('nih');
    expect(row(first).filter((v) => Number.isNaN(v)).length).toBe(1); // COVID-19 only
    const rsnaPos = all[6] as { b: Batch; i: number };
    expect(rsnaPos.b.sources[rsnaPos.i]).toBe('rsna');
    expect(row(rsnaPos)[pathologyIndex('Pneumonia')]).toBe(1);
    expect(row(rsnaPos).filter((v) => Number.isNaN(v)).length).toBe(C - 1);
    expect(rsnaPos.b.tasks.det[rsnaPos.i]).toBe(1);
    // 1024-space box (256,256,256,512) on a 32 px image fitted to 16 px
    expect(rsnaPos.b.boxes[rsnaPos.i]).toEqual([{ label: 'Pneumonia', x: 4, y: 4, width: 4, height: 8 }]);
    const siimPos = all[10] as { b: Batch; i: number };
    expect(siimPos.b.sources[siimPos.i]).toBe('siim');
    expect(siimPos.b.tasks.seg[siimPos.i]).toBe(1);
    const S2 = 16 * 16;
    const m = siimPos.b.masks.subarray(siimPos.i * S2, (siimPos.i + 1) * S2);
    // the square covers rows 4..7 and columns 8..11 of the 16 px mask
    expect(Array.from(m).reduce((a, v) => a + v, 0)).toBe(16);
    expect(m[4 * 16 + 8]).toBe(1);
    expect(first.b.tasks.seg[0]).toBe(0);
    expect(Array.from(first.b.images.subarray(0, S2)).every((v) => Number.isFinite(v))).toBe(true);
  });

  it('is deterministic per seed and epoch, shuffles differently across epochs, and caches decoded samples', async () => {
    const nih = await memoryNih(12, 4);
    const opts = { datasets: nih, batchSize: 4, seed: 5, augment: true, preprocess: { size: 16 } } as const;
    const a = createBatchStream(opts);
    const e0 = await collect(a);
    const e1 = await collect(a);
    expect(a.cache?.misses).toBe(12);
    expect(a.cache?.hits).toBe(12);
    const b = createBatchStream(opts);
    const again = await collect(b.epoch(0));
    expect(again.map((x) => x.ids)).toEqual(e0.map((x) => x.ids));
    expect(Array.from(again[0]?.images ?? [])).toEqual(Array.from(e0[0]?.images ?? []));
    expect(e1.flatMap((x) => x.ids)).not.toEqual(e0.flatMap((x) => x.ids));
    expect([...e1.flatMap((x) => x.ids)].sort()).toEqual([...e0.flatMap((x) => x.ids)].sort());
    const other = await collect(createBatchStream({ ...opts, seed: 6 }).epoch(0));
    expect(other.flatMap((x) => x.ids)).not.toEqual(e0.flatMap((x) => x.ids));
  });

  it('without augmentation, a batch equals the plain preprocessing of each sample', async () => {
    const nih = await memoryNih(3, 3, { size: 16 });
    const [batch] = await collect(
      createBatchStream({ datasets: nih, batchSize: 3, shuffle: false, preprocess: { size: 16, mean: 0, std: 1 } }),
    );
    const s = await nih.get(1);
    const expected = Array.from(s.image.data, (v) => v / 255);
    const got = Array.from(batch?.images.subarray(256, 512) ?? []);
    expect(got.map((v, i) => Math.abs(v - (expected[i] as number))).every((d) => d < 1e-6)).toBe(true);
  });

  it('replaces bad samples under skip, so batches stay full, and throws under fail', async () => {
    const skip = await memoryNih(9, 9, { corrupt: [2, 5], onBadSample: 'skip' });
    const stream = createBatchStream({ datasets: skip, batchSize: 3, shuffle: false, preprocess: { size: 8 } });
    const batches = await collect(stream);
    expect(batches.map((b) => b.size)).toEqual([3, 3, 1]);
    expect(stream.stats.skipped).toBe(2);
    expect(skip.skipped).toBe(2);
    const failing = await memoryNih(4, 4, { corrupt: [1] });
    await expect(
      collect(createBatchStream({ datasets: failing, batchSize: 2, shuffle: false, preprocess: { size: 8 } })),
    ).rejects.toThrow(DataError);
  });

  it('honours dropLast, class selection and a byte-bounded cache', async () => {
    const nih = await memoryNih(5, 5);
    const cache = createMemoryCache(2 * 16 * 16 + 200);
    const stream = createBatchStream({
      datasets: nih,
      batchSize: 2,
      dropLast: true,
      classes: ['Mass', 'COVID-19'],
      cache,
      preprocess: { size: 16 },
    });
    const batches = await collect(stream);
    expect(batches.map((b) => b.size)).toEqual([2, 2]);
    expect(batches[0]?.labels.length).toBe(4);
    expect(batches[0]?.classes).toEqual(['Mass', 'COVID-19']);
    expect(cache.bytes).toBeLessThanOrEqual(2 * 16 * 16 + 200);
  });

  it('validates options with a ConfigError', () => {
    expect(() => createBatchStream({ datasets: [], batchSize: 2 } as never)).toThrow(ConfigError);
    expect(() => createBatchStream({ datasets: {} as never })).toThrow(/datasets/);
  });
});

describe('batchToTensors', () => {
  it('builds the documented shapes, keeps NaN, and leaks nothing', async () => {
    const [nih, rsna] = await Promise.all([memoryNih(2, 2), memoryRsna(2)]);
    const [batch] = await collect(
      createBatchStream({ datasets: [nih, rsna], batchSize: 4, shuffle: false, preprocess: { size: 16 } }),
    );
    const before = tf.memory().numTensors;
    const t = batchToTensors(batch as Batch);
    expect(t.images.shape).toEqual([4, 16, 16, 1]);
    expect(t.labels.shape).toEqual([4, PATHOLOGIES.length]);
    expect(t.masks.shape).toEqual([4, 16, 16, 1]);
    expect(t.tasks.shape).toEqual([4, 3]);
    const labels = t.labels.dataSync();
    const mask = t.labelMask.dataSync();
    for (let i = 0; i < labels.length; i++) expect(mask[i]).toBe(Number.isNaN(labels[i]) ? 0 : 1);
    expect(Array.from(t.tasks.dataSync())).toEqual([1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0]);
    disposeBatchTensors(t);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('splitByPatient', () => {
  it('never puts a patient in two splits, is seeded, and respects fractions', async () => {
    const nih = await memoryNih(60, 20);
    const s = splitByPatient(nih, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 3 });
    const pids = (d: typeof s.train) => new Set(d.entries.map((e) => e.patientId));
    const [tr, va, te] = [pids(s.train), pids(s.val), pids(s.test)];
    expect([tr.size, va.size, te.size]).toEqual([12, 4, 4]);
    for (const p of tr) expect(va.has(p) || te.has(p)).toBe(false);
    for (const p of va) expect(te.has(p)).toBe(false);
    expect(s.train.size + s.val.size + s.test.size).toBe(60);
    const again = splitByPatient(nih, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 3 });
    expect(again.test.entries.map((e) => e.id)).toEqual(s.test.entries.map((e) => e.id));
    const other = splitByPatient(nih, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 4 });
    expect(other.test.entries.map((e) => e.id)).not.toEqual(s.test.entries.map((e) => e.id));
  });

  it('honours the official NIH split', async () => {
    const nih = await memoryNih(40, 20, { split: true });
    const s = splitByPatient(nih, { fractions: { train: 0.7, val: 0.1, test: 0.2 }, seed: 1 });
    expect(s.test.entries.every((e) => e.meta.officialSplit === 'test')).toBe(true);
    expect(s.test.size).toBe(nih.entries.filter((e) => e.meta.officialSplit === 'test').length);
    expect([...s.train.entries, ...s.val.entries].every((e) => e.meta.officialSplit === 'trainval')).toBe(true);
    expect(s.val.size).toBeGreaterThan(0);
  });

  it('rejects fractions that do not sum to 1', async () => {
    const nih = await memoryNih(4, 2);
    expect(() => splitByPatient(nih, { fractions: { train: 0.5, val: 0.5, test: 0.5 } })).toThrow(ConfigError);
  });
});
