import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyModelBytes } from '@multichexnet/runtime';
import type { PredictOutput } from '../src/actions/predict';
import type { RunCalibration, TestEvaluation } from '../src/report/report-data';
import { cli, flags } from './helpers';
import { clsPhase, tinyPlan } from './plans';
import { synthesize } from './reliability-helpers';

/*
 * `transfer` exports and evaluates with the per-class thresholds its fine-tuning chose on the COVID-19 validation
 * split (the ones transfer.json records): a tiny real source run, a few fine-tuning steps, then every file that
 * carries decision settings is checked against transfer.json.
 */
let dir: string;
let out: { run: string; calibration: RunCalibration | null; validation: unknown };
let record: { f1Thresholds: Record<string, number>; validation: unknown };
let human: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-transfer-cal-'));
  await synthesize(dir, 'data', { nih: 16, rsna: 0, siim: 0, covid: 40 }, 6);
  writeFileSync(
    join(dir, 'plan.json'),
    JSON.stringify(tinyPlan('transfer-cal', 4, [clsPhase('cls', 2)], { cls: {}, gate: { kind: 'cls-path' } })),
  );
  const t = await cli(
    dir,
    'train',
    'plan.json',
    ...flags({ data: 'data', run: 'runs/src', noReport: true, noEval: true, noExport: true }),
  );
  expect(t.code, t.err).toBe(0);
  // the same fine-tuning twice: once exported, as JSON; once for the human summary
  const transfer = (run: string, extra: Readonly<Record<string, true>>) =>
    cli(
      dir,
      'transfer',
      ...flags({
        from: 'runs/src',
        covid: join('data', 'covid'),
        steps: 2,
        batchSize: 4,
        run,
        noReport: true,
        ...extra,
      }),
    );
  const r = await transfer('runs/covid', { json: true });
  expect(r.code, r.err).toBe(0);
  out = JSON.parse(r.out) as typeof out;
  record = JSON.parse(readFileSync(join(dir, 'runs', 'covid', 'transfer.json'), 'utf8')) as typeof record;
  const h = await transfer('runs/covid-h', { noExport: true });
  expect(h.code, h.err).toBe(0);
  human = h.out;
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('transfer uses the decision settings chosen on its validation split', () => {
  it('the fine-tuning had validation images (the precondition of this file)', () => {
    expect(record.validation).not.toBeNull();
    expect(out.validation).toEqual(record.validation);
  });

  it('--json, calibration.json and eval-test.json carry the F1 thresholds transfer.json records', () => {
    const want: RunCalibration = {
      chosenOn: 'val',
      gating: 'cls only',
      tasks: { cls: { thresholds: record.f1Thresholds } },
    };
    expect(out.calibration).toEqual(want);
    expect(JSON.parse(readFileSync(join(dir, 'runs', 'covid', 'calibration.json'), 'utf8'))).toEqual(want);
    const ev = JSON.parse(readFileSync(join(dir, 'runs', 'covid', 'eval-test.json'), 'utf8')) as TestEvaluation;
    expect(ev.calibration).toEqual(want);
  });

  it('the exported model decodes findings at those thresholds, and predict applies them', async () => {
    const { metadata } = await verifyModelBytes(
      new Uint8Array(readFileSync(join(dir, 'runs', 'covid', 'model.onnx'))),
      'model.onnx',
    );
    expect((metadata.decode.cls as { thresholds?: Record<string, number> } | undefined)?.thresholds).toEqual(
      record.f1Thresholds,
    );
    const image = join(dir, 'data', 'nih', 'images', readdirSync(join(dir, 'data', 'nih', 'images')).sort()[0]!);
    const p = await cli(dir, 'predict', '--model', join('runs', 'covid', 'model.onnx'), image, '--json');
    expect(p.code, p.err).toBe(0);
    const [img] = (JSON.parse(p.out) as PredictOutput).images;
    expect(img!.findings).toEqual(metadata.classNames.filter((c) => img!.probabilities[c]! >= record.f1Thresholds[c]!));
  });

  it('the human summary names the settings', () => {
    expect(human).toMatch(/decision settings chosen on val: 1 per-class F1 thresholds/);
  });
});
