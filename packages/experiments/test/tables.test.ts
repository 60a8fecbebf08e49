import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@multichexnet/core';
import { CORE_VARIANTS, experimentTable1, experimentTable2, type ExperimentEvent } from '../src/index';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('experiments (a mini protocol: a step or two per phase on a tiny synthetic set)', () => {
  it('train every variant once and write both tables with their chance baselines', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mcx-exp-'));
    const config = {
      out,
      size: 'tiny' as const,
      seed: 3,
      stepScale: 0.01,
      batchSize: 4,
      synthetic: { nih: 24, rsna: 20, siim: 20 },
    };
    const t1 = await experimentTable1(config, { onEvent: null });

    expect(existsSync(join(out, 'data', 'synth.json'))).toBe(true);
    expect(t1.rows.map((r) => r.variant)).toEqual([...CORE_VARIANTS]);
    const row = (v: string) => t1.rows.find((r) => r.variant === v)!;
    expect(Object.keys(row('single-cls')).filter((k) => ['cls', 'det', 'seg'].includes(k))).toEqual(['cls']);
    expect(Object.keys(row('single-det')).filter((k) => ['cls', 'det', 'seg'].includes(k))).toEqual(['det']);
    expect(Object.keys(row('single-seg')).filter((k) => ['cls', 'det', 'seg'].includes(k))).toEqual(['seg']);
    for (const v of ['bigbang', 'multichexnet-joint', 'multichexnet-alternating']) {
      expect(row(v).gating).toBe('gate');
      expect(row(v).cls && row(v).det && row(v).seg).toBeTruthy();
    }
    expect(row('single-det').gating).toBe('none');
    // The MultiCheXNet variants count their share of the pre-training: BigBang gets all of it, each baseline the
    // steps the protocol trains its head.
    expect(row('multichexnet-joint').steps).toBe(row('bigbang').steps);
    expect(row('single-det').steps).toBeLessThan(row('bigbang').steps);
    expect(row('single-det').calibration.det!.scoreThreshold).toBeGreaterThan(0);
    expect(Object.keys(row('single-cls').calibration.cls!.thresholds as object)).toHaveLength(14);
    // Chance baselines computed on the same test truths: a constant score has AUROC 0.5, no boxes score 0.
    expect(t1.chance.cls!.constantMeanAuroc).toBe(0.5);
    expect(t1.chance.det!.emptyMAP).toBe(0);
    expect(t1.chance.seg!.emptyDice).toBeGreaterThan(0);
    expect(t1.comparison.map((c) => c.metric)).toEqual(expect.arrayContaining(['det.mAP', 'seg.dice']));
    expect(t1.verdict).toMatch(/MTL (beat|did not beat)/);
    const md = readFileSync(join(out, 'table1.md'), 'utf8');
    expect(md).toContain(
      '| Model | cls mean AUROC (NIH) | cls macro F1 | det mAP (RSNA) | det AP@0.5 | seg Dice (SIIM) | steps | train s |',
    );
    expect(md).toContain(t1.verdict);
    expect(JSON.parse(readFileSync(join(out, 'table1.json'), 'utf8')).rows).toHaveLength(CORE_VARIANTS.length);
    // The joint and alternating variants share one pre-training run.
    expect(existsSync(join(out, 'pretrain', 'weights', 'model.json'))).toBe(true);

    const events: ExperimentEvent[] = [];
    const t2 = await experimentTable2(config, { onEvent: (e) => events.push(e) });
    // Table 2 reuses the trained models: no phase runs again.
    expect(events.filter((e) => e.type === 'phase-start')).toEqual([]);
    expect(t2.rows.map((r) => `${r.variant}/${r.gating}`)).toEqual(
      ['bigbang', 'multichexnet-joint', 'multichexnet-alternating'].flatMap((v) =>
        ['gate', 'truth', 'none'].map((g) => `${v}/${g}`),
      ),
    );
    for (const r of t2.rows) {
      expect(r.det).toBeDefined();
      expect(r.seg).toBeDefined();
      if (r.gating === 'gate') expect(r.gate!.count).toBeGreaterThan(0);
      else expect(r.gate).toBeUndefined();
    }
    expect(readFileSync(join(out, 'table2.md'), 'utf8')).toContain('| Model | Gating | det mAP (RSNA) |');
  }, 180_000);
});
