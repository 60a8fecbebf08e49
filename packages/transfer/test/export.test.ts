import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@multichexnet/core';
// The test proves the fine-tuned model still exports and runs with det / seg; src/ never imports the exporter or the
// runtime.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { exportPipeline, writePipelineFiles } from '@multichexnet/export';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createPipeline } from '@multichexnet/runtime';
import { createGate } from '@multichexnet/gating';
import { clsTask } from '@multichexnet/head-cls';
import { createMultiCheXNet } from '@multichexnet/model';
import { fineTune, openTransferData, scoreClassifier, type TransferSplits } from '../src/index';
import { smallModel, syntheticCovid } from './helpers';

const S = 64;
let data: TransferSplits;

beforeAll(async () => {
  await initBackend('wasm');
  data = await openTransferData(await syntheticCovid(60, 21, 0.4, S), {
    fractions: { train: 0.6, val: 0.2, test: 0.2 },
    seed: 2,
  });
});

describe('export of a fine-tuned model', () => {
  it('exports through the runtime and runs on onnxruntime: COVID-19 probabilities match tfjs, det / seg run for the gate positives', async () => {
    const source = smallModel(1);
    const r = await fineTune({
      from: source,
      data,
      imageSize: S,
      batchSize: 8,
      steps: 2,
      freeze: 'all-trainable',
      seed: 1,
    });
    const m = r.model;
    const test = data.test!;
    const reference = await scoreClassifier(m, test, { imageSize: S });
    // The median probability as gate threshold: both branches (routed to det / seg, stopped) are exercised.
    const sorted = reference.scores.map((s) => s[0]!).sort((a, b) => a - b);
    const threshold = sorted[Math.floor(sorted.length / 2)]!;
    const models = await exportPipeline(m, {
      preprocessing: { size: S },
      gate: { source: 'cls', classes: ['COVID-19'], threshold },
    });
    const dir = mkdtempSync(join(tmpdir(), 'mcx-ft-onnx-'));
    await writePipelineFiles(dir, models);
    const pipe = await createPipeline({ model: dir, backend: 'node' });
    const films = await Promise.all(test.entries.map((_, i) => test.get(i)));
    const results = await pipe.runBatch(films.map((s) => s.image));
    expect(results).toHaveLength(test.size);
    results.forEach((res, i) => {
      expect(Object.keys(res.probabilities!)).toEqual(['COVID-19']);
      const j = reference.ids.indexOf(test.entry(i).id);
      expect(Math.abs(res.probabilities!['COVID-19']! - reference.scores[j]![0]!)).toBeLessThan(1e-4);
      expect(res.gate.positive).toBe(res.probabilities!['COVID-19']! >= threshold);
      if (res.gate.positive) {
        expect(res.mask).not.toBeNull();
        expect([res.mask!.width, res.mask!.height]).toEqual([films[i]!.image.width, films[i]!.image.height]);
        expect(Array.isArray(res.boxes)).toBe(true);
      } else {
        expect(res.boxes).toEqual([]);
      }
    });
    const routed = results.filter((x) => x.gate.positive).length;
    expect(routed).toBeGreaterThan(0);
    expect(routed).toBeLessThan(results.length);
    await pipe.dispose();

    // Encoder + the transferred COVID-19 head + CheXSeg alone (no CheXDet), with its own cls-path gate and without one.
    const head = m.headOf(clsTask)!;
    const gate = createGate({ kind: 'cls-path', classes: ['COVID-19'], classNames: ['COVID-19'], threshold });
    for (const g of [gate, null]) {
      const covidSeg = createMultiCheXNet({ encoder: m.encoder, heads: { cls: head, seg: m.heads.seg! }, gate: g });
      const exported = await exportPipeline(covidSeg, { preprocessing: { size: S } });
      expect(exported.reports.stage1.metadata.gate).toEqual(
        g === null
          ? null
          : { source: 'cls', task: 'cls', probabilities: 'cls_probs', classes: ['COVID-19'], threshold },
      );
      const p = await createPipeline({
        model: { stage1: exported.stage1, stage2: exported.stage2 },
        gate: { enabled: g !== null },
      });
      const out = await p.runBatch(films.map((f) => f.image));
      out.forEach((res, i) => {
        expect(res.tasks).toEqual(['cls', 'seg']);
        expect(res.boxes).toBeUndefined();
        expect(res.probabilities!['COVID-19']).toBeCloseTo(results[i]!.probabilities!['COVID-19']!, 5);
        expect(res.gate.positive).toBe(g === null || res.probabilities!['COVID-19']! >= threshold);
        // the same seg head on the same features: the same mask as with CheXDet beside it
        if (res.gate.positive && results[i]!.gate.positive) expect(res.mask!.data).toEqual(results[i]!.mask!.data);
        expect(res.mask === null).toBe(!res.gate.positive);
      });
      await p.dispose();
    }
    m.dispose();
    source.dispose();
  });
});
