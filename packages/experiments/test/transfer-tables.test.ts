import { mkdtempSync } from 'node:fs';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, ConfigError, initBackend } from '@multichexnet/core';
import {
  experimentTable3,
  experimentTable4,
  metricOf,
  TABLE3_METHODS,
  TransferExperimentConfigSchema,
  type Table3,
  type TransferExperimentEvent,
} from '../src/index';

// A mini run of both experiments: every stage runs (synthetic data, source protocol, fine-tuning, evaluation,
// files), with step counts far too small for the numbers to mean anything; the structure is what is checked.
const out = mkdtempSync(join(tmpdir(), 'mcx-tables-'));
const config = {
  out,
  seeds: 2,
  synthetic: { nih: 48, rsna: 32, siim: 32, covid: 50, covidFraction: 0.45 },
  stepScale: 0.02,
  fineTune: { steps: 2, batchSize: 8 },
  scratchSteps: 2,
  nihFineTune: { steps: 2, batchSize: 8 },
};
let t3: Table3;
const events: TransferExperimentEvent[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  t3 = await experimentTable3(config, { onEvent: (e) => events.push(e) });
}, 240_000);

describe('experimentTable3', () => {
  it('has the three rows, one run per seed, spreads and chance baselines, and writes table3.{json,md}', async () => {
    expect(t3.rows.map((r) => r.method)).toEqual([...TABLE3_METHODS]);
    expect(t3.classes).toEqual(['COVID-19']);
    for (const r of t3.rows) {
      expect(r.runs.map((x) => x.seed)).toEqual([0, 1]);
      for (const k of ['auroc', 'f1', 'sensitivity'] as const) {
        const s = r.summary[k];
        expect(s.of).toBe(2);
        if (s.n > 0) (expect(s.min).toBeLessThanOrEqual(s.mean), expect(s.mean).toBeLessThanOrEqual(s.max));
      }
      for (const x of r.runs) expect(x.auroc >= 0 && x.auroc <= 1).toBe(true);
    }
    const [scratch, stage1, mtl] = t3.rows;
    expect([scratch!.freeze, scratch!.lrMultiplier, scratch!.source]).toEqual(['all-trainable', 1, null]);
    expect([stage1!.freeze, stage1!.lrMultiplier]).toEqual(['encoder-frozen', 0.1]);
    expect(stage1!.source!.steps).toBe(2);
    expect(mtl!.source!.steps).toBeGreaterThan(stage1!.source!.steps!);
    expect(t3.chance.constant.auroc).toBe(0.5);
    expect(t3.data.images.test).toBeGreaterThan(0);
    expect(t3.data.resplit).toBe(true);
    expect(t3.rows[0]!.runs.map((x) => x.split)).toEqual(t3.rows[2]!.runs.map((x) => x.split));
    expect(t3.data.positives.train).toBeGreaterThan(0);
    expect(t3.localisation!.positives).toBe(t3.data.positives.test);
    const json = JSON.parse(await readFile(join(out, 'table3.json'), 'utf8')) as Table3;
    expect(json.rows).toHaveLength(3);
    expect(json.config).toEqual(TransferExperimentConfigSchema.parse(config));
    const md = await readFile(join(out, 'table3.md'), 'utf8');
    expect(md).toBe(t3.markdown);
    expect(md).toContain('| Transfer from MultiCheXNet (MTL) |');
    expect(md).toContain('Sensitivity @ specificity 0.90');
    expect(t3.verdict).toMatch(
      /^Mean test AUROC minus training from scratch \(paired by seed\): Transfer from the stage-1 classifier \(NIH\) ([+-]\d\.\d{3}|n\/a) \(better on [0-2] of 2 seeds\); /,
    );
    expect(events.filter((e) => e.type === 'experiment' && e.stage === 'source')).not.toHaveLength(0);
  });

  it('refuses a bad config naming the field', async () => {
    await expect(experimentTable3({ out, seeds: 0 })).rejects.toThrow(ConfigError);
    await expect(experimentTable3({ out, fineTune: { freeze: 'half' as never } })).rejects.toThrow(/fineTune\.freeze/);
  });
});

describe('experimentTable4', () => {
  it('reuses the trained sources, adds the CheXNet baseline, gives both fine-tuned rows the same extra budget, and reports per-class F1 / AUROC with means', async () => {
    const seen: TransferExperimentEvent[] = [];
    const t4 = await experimentTable4(config, { onEvent: (e) => seen.push(e) });
    expect(t4.rows.map((r) => r.model)).toEqual(['chexnet', 'mtl', 'chexnet-finetuned', 'mtl-finetuned']);
    expect(t4.classes).toEqual([...CHESTXRAY14_CLASSES]);
    for (const r of t4.rows) expect(Object.keys(r.perClass)).toEqual([...CHESTXRAY14_CLASSES]);
    expect(t4.rows[2]!.fineTune).toMatchObject({ steps: 2, freeze: 'all-trainable' });
    expect(t4.rows[3]!.fineTune).toMatchObject({ steps: 2, freeze: 'all-trainable' });
    expect(t4.rows[2]!.steps! - t4.rows[0]!.steps!).toBe(t4.rows[3]!.steps! - t4.rows[1]!.steps!);
    // The comparison is at equal budgets: MultiCheXNet fine-tuned minus CheXNet fine-tuned.
    expect(t4.comparison.meanAuroc).toBeCloseTo(t4.rows[3]!.meanAuroc - t4.rows[2]!.meanAuroc, 10);
    // Per-image records reproduce each row's means.
    for (const r of t4.rows) expect(metricOf(r.records, 'cls.meanAuroc')).toBeCloseTo(r.meanAuroc, 4);
    // Stage 1 and MTL were trained by Table 3: this call resumed them (no optimizer step), only CheXNet trained.
    const steps = seen
      .filter((e) => e.type === 'step' && 'variant' in e)
      .map((e) => (e as { variant: string }).variant);
    expect(new Set(steps)).toEqual(new Set(['source-chexnet']));
    const md = await readFile(join(out, 'table4.md'), 'utf8');
    expect(md).toContain('| **Mean** |');
    expect(md).toContain('CheXNet F1');

    // The same models as a trainer experiment folder (Table 1 / quickstart layout): reused, with the split its
    // table1.json records, they give the same baseline numbers on the same NIH test split.
    const reuse = mkdtempSync(join(tmpdir(), 'mcx-reuse-'));
    await cp(join(out, 'sources', 'mtl'), join(reuse, 'multichexnet-joint'), { recursive: true });
    await cp(join(out, 'sources', 'chexnet'), join(reuse, 'single-cls'), { recursive: true });
    await mkdir(join(reuse, 'data'));
    for (const d of ['nih', 'rsna', 'siim']) await symlink(join(out, 'data', d), join(reuse, 'data', d));
    const resolved = TransferExperimentConfigSchema.parse(config);
    await writeFile(
      join(reuse, 'table1.json'),
      JSON.stringify({ config: { split: resolved.split, seed: resolved.seed } }),
    );
    const again: TransferExperimentEvent[] = [];
    const t4b = await experimentTable4(
      { ...config, out: mkdtempSync(join(tmpdir(), 'mcx-t4-')), reuse, covid: join(out, 'data', 'covid') },
      { onEvent: (e) => again.push(e) },
    );
    expect(t4b.rows[0]!.provenance).toBe(`reused: ${join(reuse, 'single-cls')}`);
    expect(t4b.rows[0]!.perClass).toEqual(t4.rows[0]!.perClass);
    expect(t4b.rows[1]!.perClass).toEqual(t4.rows[1]!.perClass);
    expect(again.some((e) => e.type === 'step' && 'variant' in e)).toBe(false);
  });
});
