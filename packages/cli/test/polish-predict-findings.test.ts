import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyModelBytes, type ModelMetadata } from '@multichexnet/runtime';
import type { PredictOutput } from '../src/actions/predict';
import { cli, lines } from './helpers';
import { clsPhase, tinyPlan } from './plans';
import { synthesize } from './reliability-helpers';

/*
 * `predict` reports the findings a model decides with the per-class thresholds its training run chose on the
 * validation split (metadata.decode.cls): a tiny real run is trained and exported (export calibrates on val), and
 * its findings are checked against the probabilities and thresholds the model file itself records.
 */
let dir: string;
let images: string[];
let metadata: ModelMetadata;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-findings-'));
  const data = await synthesize(dir, 'data', { nih: 24, rsna: 0, siim: 0 }, 4);
  images = readdirSync(join(data, 'nih', 'images'))
    .sort()
    .slice(0, 6)
    .map((f) => join(data, 'nih', 'images', f));
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(tinyPlan('findings', 3, [clsPhase('cls', 2)])));
  const r = await cli(dir, 'train', 'plan.json', '--data', 'data', '--run', 'runs/f', '--no-report', '--no-eval');
  expect(r.code, r.err).toBe(0);
  metadata = (await verifyModelBytes(new Uint8Array(readFileSync(join(dir, 'runs', 'f', 'model.onnx'))), 'model.onnx'))
    .metadata;
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The classes at or above the model's recorded thresholds, in class order. */
/** The per-class thresholds the exported model records for its classifier. */
const clsThresholds = (): Record<string, number> | undefined =>
  (metadata.decode.cls as { thresholds?: Record<string, number> } | undefined)?.thresholds;

function expectedFindings(probabilities: Record<string, number>, thresholds: Record<string, number>): string[] {
  return metadata.classNames.filter((c) => thresholds[c] !== undefined && probabilities[c]! >= thresholds[c]!);
}

describe('predict prints the findings chosen on validation', () => {
  it('the exported model records per-class cls thresholds (the precondition of this file)', () => {
    const thresholds = clsThresholds();
    expect(thresholds).toBeDefined();
    expect(Object.keys(thresholds ?? {}).length).toBeGreaterThan(0);
  });

  it("--json carries each image's findings, equal to probability >= recorded threshold", async () => {
    const r = await cli(dir, 'predict', '--model', join('runs', 'f', 'model.onnx'), ...images, '--json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as PredictOutput;
    expect(out.images).toHaveLength(images.length);
    const thresholds = clsThresholds()!;
    for (const img of out.images) {
      expect(img.findings, img.file).toBeDefined();
      expect(img.findings).toEqual(expectedFindings(img.probabilities, thresholds));
    }
  });

  it('the human line names the findings (or "none") for the gated pipeline of the run folder too', async () => {
    const json = JSON.parse(
      (await cli(dir, 'predict', '--model', join('runs', 'f'), ...images, '--json')).out,
    ) as PredictOutput;
    const r = await cli(dir, 'predict', '--model', join('runs', 'f'), ...images);
    expect(r.code, r.err).toBe(0);
    const printed = lines(r.out).filter((l) => images.some((f) => l.startsWith(f)));
    expect(printed).toHaveLength(images.length);
    for (const [k, img] of json.images.entries()) {
      expect(img.findings, img.file).toBeDefined();
      const want = img.findings!.length > 0 ? img.findings!.join(', ') : 'none';
      expect(printed[k]).toContain(`findings: ${want};`);
    }
  });
});
