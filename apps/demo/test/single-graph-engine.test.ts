import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unscaleProbability } from '@multichexnet/core/base';
import { decodeImage } from '@multichexnet/data/decode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoEngine } from '../src/engine/demo-engine';
import { readModelFiles } from '../src/engine/model-files';
import { createSingleGraphEngine } from '../src/engine/single-graph-engine';

// The page's engine on onnxruntime-web's wasm backend, in Node: the same code the browser runs, minus the DOM.
const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(appRoot, 'public', 'model', 'model.onnx');
const examples = join(appRoot, 'public', 'examples');
const skip = !existsSync(bundled);
if (skip) console.warn('[single-graph-engine] skipped: public/model/model.onnx is missing (npm run demo:model)');

describe.skipIf(skip)('single-graph engine (bundled model, onnxruntime-web wasm)', () => {
  let engine: DemoEngine;

  beforeAll(async () => {
    const files = await readModelFiles([{ name: 'model.onnx', bytes: new Uint8Array(readFileSync(bundled)) }]);
    if (files.kind !== 'single') throw new TypeError('the bundled model must be a single graph');
    engine = await createSingleGraphEngine(files, 'wasm');
  }, 60_000);

  afterAll(async () => {
    await engine?.dispose();
  });

  it('gives sorted probabilities for every class and a gate that is the max of its classes', async () => {
    const image = decodeImage(readFileSync(join(examples, 'nih.png')), 'nih.png');
    const r = await engine.run(image, { gated: true });
    expect(r.probabilities.map((p) => p.name).sort()).toEqual([...engine.metadata.classNames].sort());
    const ps = r.probabilities.map((p) => p.probability);
    expect(ps).toEqual([...ps].sort((a, b) => b - a));
    for (const p of ps) expect(p >= 0 && p <= 1).toBe(true);
    const spec = engine.metadata.gate;
    expect(spec).not.toBeNull();
    if (spec!.source === 'cls') {
      // the gate reads the graph's raw probabilities; the reported ones are calibrated when the model records
      // temperatures (the runtime's calibration: one per class here), so they go back to the raw scale first
      const recorded = engine.metadata.temperature?.tasks['cls']?.temperature;
      const T = (c: string): number => (typeof recorded === 'object' ? (recorded[c] ?? 1) : (recorded ?? 1));
      const byName = new Map(r.probabilities.map((p) => [p.name, unscaleProbability(p.probability, T(p.name))]));
      expect(r.gate!.probability).toBeCloseTo(Math.max(...spec!.classes.map((c) => byName.get(c)!)), 5);
    }
    expect(r.gate!.positive).toBe(r.gate!.probability >= spec!.threshold);
    expect(r.totalMs).toBeCloseTo(
      r.steps.reduce((a, s) => a + s.ms, 0),
      6,
    );
  });

  it('hides det/seg behind a negative gate only while gating is on; the cls result does not change', async () => {
    for (const file of ['nih.png', 'rsna-pneumonia.dcm', 'siim-pneumothorax.dcm', 'covid.jpg']) {
      const image = decodeImage(readFileSync(join(examples, file)), file);
      const gated = await engine.run(image, { gated: true });
      const open = await engine.run(image, { gated: false });
      expect(open.probabilities).toEqual(gated.probabilities);
      expect(open.detSegShown).toBe(true);
      expect(gated.detSegShown).toBe(gated.gate!.positive);
      if (!gated.gate!.positive) {
        expect(gated.boxes).toEqual([]);
        expect(gated.mask).toBeNull();
      } else {
        expect(gated.boxes).toEqual(open.boxes);
      }
      // Boxes lie on the image (original pixels), best first, above the recorded threshold.
      const det = engine.metadata.decode.det as { scoreThreshold: number; maxDetections: number } | null | undefined;
      expect(open.hasDet).toBe(det !== null && det !== undefined);
      for (const b of open.boxes) {
        expect(b.score).toBeGreaterThanOrEqual(det!.scoreThreshold);
        expect(b.x + b.width).toBeGreaterThan(0);
        expect(b.x).toBeLessThan(image.width);
      }
      if (det !== null && det !== undefined) expect(open.boxes.length).toBeLessThanOrEqual(det.maxDetections);
      expect(open.mask !== null).toBe(open.hasSeg);
    }
  });

  it('is deterministic: the same image gives the same result', async () => {
    const image = decodeImage(readFileSync(join(examples, 'siim-pneumothorax.dcm')), 'x.dcm');
    const a = await engine.run(image, { gated: false });
    const b = await engine.run(image, { gated: false });
    expect(b.probabilities).toEqual(a.probabilities);
    expect(b.boxes).toEqual(a.boxes);
    expect(b.mask?.data).toEqual(a.mask?.data);
  });
});
