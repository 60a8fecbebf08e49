import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@multichexnet/core';
import {
  METRICS,
  SEED_RECORD_FILE,
  defaultProtocolPath,
  experimentSeries,
  experimentTransferSeries,
  freezeProtocol,
  metricOf,
  parseSummary,
  protocolPlan,
  readSeedRecord,
  renderTable1,
  renderTable2,
  renderTable3,
  renderTable4,
  type ExperimentEvent,
  type ProtocolFile,
} from '../src/index';

// A mini series: every phase a step or two on a small synthetic set, two seeds, the variants that exercise every
// path (ungated single task, a stage baseline read off the pre-training, joint MTL, a gradient-surgery ablation).
const VARIANTS = [
  'single-det',
  'single-seg',
  'stage2-det',
  'stage3-seg',
  'multichexnet-joint',
  'multichexnet-joint-pcgrad',
] as const;
let protocolFile: string;
let out: string;

beforeAll(async () => {
  await initBackend('wasm');
  const f = JSON.parse(readFileSync(defaultProtocolPath(), 'utf8')) as ProtocolFile;
  f.frozen = null;
  f.protocol.plans = {};
  f.protocol.series = {
    mini: {
      size: 'tiny',
      stepScale: 0.01,
      seeds: 2,
      variants: [...VARIANTS],
      synthetic: { nih: 40, rsna: 40, siim: 40, covid: 50 },
      note: 'test',
    },
  };
  f.protocol.bootstrap = { resamples: 200, confidence: 0.95 };
  f.protocol.transfer = { covidFineTuneSteps: 2, nihExtraSteps: 2 };
  const dir = mkdtempSync(join(tmpdir(), 'mcx-series-'));
  protocolFile = join(dir, 'protocol.json');
  writeFileSync(protocolFile, JSON.stringify(f));
  await freezeProtocol(protocolFile, (s, v, p) =>
    protocolPlan({ size: s.size, stepScale: s.stepScale, ablations: p.ablations }, v),
  );
  out = join(dir, 'series');
}, 30_000);

/** `<name>.md` in `dir` is what `render` makes of `<name>.json` alone. */
function expectMarkdownOfJson<T>(dir: string, name: string, render: (summary: T) => string): void {
  const json = parseSummary<T>(readFileSync(join(dir, `${name}.json`), 'utf8'));
  expect(readFileSync(join(dir, `${name}.md`), 'utf8')).toBe(render(json));
}

describe('experimentSeries', () => {
  it('runs seed by seed, resumes, and writes both tables with intervals from per-image records', async () => {
    const seen: number[] = [];
    // First call: one seed, without the ablation (a first pass).
    const first = await experimentSeries(
      {
        out,
        series: 'mini',
        seeds: [100],
        variants: VARIANTS.filter((v) => v !== 'multichexnet-joint-pcgrad'),
        protocol: protocolFile,
        command: 'test',
      },
      { onEvent: null, onSeed: (r) => void seen.push(r.seed) },
    );
    expect(first.table1.seeds).toEqual([100]);
    expect(first.table1.rows.map((r) => r.variant)).not.toContain('multichexnet-joint-pcgrad');
    await expect(experimentSeries({ out, series: 'mini', protocol: protocolFile }, { onEvent: null })).rejects.toThrow(
      /already holds seeds.*--resume/,
    );
    const events: ExperimentEvent[] = [];
    const { table1, table2 } = await experimentSeries(
      { out, series: 'mini', protocol: protocolFile, resume: true, command: 'test' },
      { onEvent: (e) => events.push(e), onSeed: (r) => void seen.push(r.seed) },
    );
    // Seed 100 was extended by the ablation (its pre-training read from disk, not trained again), seed 101 trained.
    expect(seen).toEqual([100, 100, 101]);
    expect(events.filter((e) => e.type === 'phase-start' && e.variant === 'pretrain')).toHaveLength(5);
    expect(events.filter((e) => e.type === 'phase-start' && e.variant === 'multichexnet-joint-pcgrad')).toHaveLength(2);
    expect(table1.seeds).toEqual([100, 101]);
    expect(table1.plannedSeeds).toEqual([100, 101]);

    const rec = (await readSeedRecord(join(out, 'seed-100')))!;
    expect(rec.protocol!.series).toBe('mini');
    expect(rec.variants.map((v) => v.variant)).toEqual([...VARIANTS]);
    // Per-image records reproduce the metrics of the whole split (AP@0.5 keeps the top boxes only: close).
    for (const v of rec.variants) {
      for (const e of Object.values(v.evaluations)) {
        for (const m of METRICS) {
          const want = e!.metrics[m];
          if (want === undefined) continue;
          const got = metricOf(e!.records, m);
          if (Number.isNaN(want)) expect(got, `${v.variant} ${m}`).toBeNaN();
          else expect(got, `${v.variant} ${m}`).toBeCloseTo(want, m.startsWith('det.') && m !== 'det.mAP' ? 1 : 4);
        }
      }
    }
    // The stage baselines are gated and scored on their head only; their budget stops at their stage.
    const v = (name: string) => rec.variants.find((x) => x.variant === name)!;
    expect(v('stage2-det').gating).toBe('gate');
    expect(Object.keys(v('stage2-det').evaluations.gate!.metrics).filter((m) => !m.startsWith('gate.'))).toEqual([
      'det.mAP',
      'det.ap50',
      'det.positiveAp50',
    ]);
    expect(v('stage2-det').budget.det!.steps).toBeLessThan(v('multichexnet-joint').budget.det!.steps);
    expect(v('stage3-seg').steps).toBeGreaterThan(v('stage2-det').steps);
    expect(v('single-det').gating).toBe('none');
    expect(Object.keys(v('single-det').evaluations)).toEqual(['none']);
    expect(Object.keys(v('multichexnet-joint').evaluations)).toEqual(['gate', 'truth', 'none']);
    // The labelled images per head: single-det sees only RSNA rows, all of them det rows.
    expect(v('single-det').budget.det!.images).toBe(v('single-det').steps * 16);

    // Every MTL row against both baselines of each of its heads, per metric, over both seeds.
    const pairs = new Set(table1.comparisons.map((c) => `${c.a}-${c.b}`));
    expect([...pairs].sort()).toEqual([
      'multichexnet-joint-pcgrad-single-det',
      'multichexnet-joint-pcgrad-single-seg',
      'multichexnet-joint-pcgrad-stage2-det',
      'multichexnet-joint-pcgrad-stage3-seg',
      'multichexnet-joint-single-det',
      'multichexnet-joint-single-seg',
      'multichexnet-joint-stage2-det',
      'multichexnet-joint-stage3-seg',
    ]);
    for (const c of table1.comparisons) {
      // A seed whose test split leaves the metric undefined (a mini split may hold no RSNA box) is left out.
      expect(c.seeds).toBeGreaterThanOrEqual(1);
      expect(c.seeds).toBeLessThanOrEqual(2);
      expect(c.interval.low).toBeLessThanOrEqual(c.interval.high);
      expect(c.interval.verdict).toMatch(/^(better|worse|no difference at 95%)$/);
    }
    const mAP = table1.rows.find((r) => r.variant === 'multichexnet-joint')!.metrics['det.mAP']!;
    expect(mAP.seeds + mAP.undefinedSeeds).toBe(2);
    expect(
      table1.comparisons.find((c) => c.metric === 'seg.dice' && c.a === 'multichexnet-joint' && c.b === 'single-seg')!
        .seeds,
    ).toBe(2);
    expect(table1.verdict).toMatch(/multichexnet-joint vs the paper's gated stage baselines: better on/);
    expect(table2.rows.map((r) => `${r.variant}/${r.gating}`)).toContain('stage2-det/truth');
    expect(
      table2.comparisons.some((c) => c.a === 'multichexnet-joint (gate)' && c.b === 'multichexnet-joint (truth)'),
    ).toBe(true);

    // The files: JSON, and Markdown that renders from the JSON alone.
    expectMarkdownOfJson(out, 'table1', renderTable1);
    expectMarkdownOfJson(out, 'table2', renderTable2);
    const md = readFileSync(join(out, 'table1.md'), 'utf8');
    expect(md).toContain('2 of 2 planned seeds (100, 101)');
    expect(md).toContain('## MTL minus baselines');
    expect(md).toContain('- command: `test`');
    expect(existsSync(join(out, 'seed-101', SEED_RECORD_FILE))).toBe(true);
  }, 600_000);

  it('runs Tables 3 and 4 on the finished seeds, reusing their models, with intervals at equal budgets', async () => {
    const { table3, table4 } = await experimentTransferSeries(
      { out, series: 'mini', protocol: protocolFile, command: 'test' },
      { onEvent: null },
    );
    expect(table3.seeds).toEqual([100, 101]);
    expect(table3.rows.map((r) => r.method)).toEqual(['scratch', 'stage1', 'mtl']);
    expect(table3.rows.every((r) => r.steps === 2)).toBe(true);
    expect(new Set(table3.comparisons.map((c) => `${c.a}-${c.b}`))).toEqual(
      new Set(['stage1-scratch', 'mtl-scratch', 'mtl-stage1']),
    );
    expect(table4.rows.map((r) => [r.model, r.extraSteps])).toEqual([
      ['chexnet', 0],
      ['mtl', 0],
      ['chexnet-finetuned', 2],
      ['mtl-finetuned', 2],
    ]);
    expect(new Set(table4.comparisons.map((c) => `${c.a}-${c.b}`))).toEqual(
      new Set(['mtl-finetuned-chexnet-finetuned', 'mtl-chexnet']),
    );
    for (const c of [...table3.comparisons, ...table4.comparisons])
      expect(c.interval.low).toBeLessThanOrEqual(c.interval.high);
    // The MTL source is each seed's own joint model, reused, not retrained (the CheXNet baseline would be its
    // single-cls, which this mini series does not train, so it is trained there).
    const t4 = JSON.parse(readFileSync(join(out, 'seed-100', 'transfer', 'table4.json'), 'utf8')) as {
      rows: { model: string; provenance: string }[];
    };
    expect(t4.rows.find((r) => r.model === 'mtl')!.provenance).toBe(
      `reused: ${join(out, 'seed-100', 'multichexnet-joint')}`,
    );
    expectMarkdownOfJson(out, 'table3', renderTable3);
    expectMarkdownOfJson(out, 'table4', renderTable4);
    // A second call reads each seed's tables instead of fine-tuning again.
    const t0 = performance.now();
    await experimentTransferSeries({ out, series: 'mini', protocol: protocolFile, command: 'test' }, { onEvent: null });
    expect(performance.now() - t0).toBeLessThan(20_000);
  }, 600_000);

  it('refuses tuning seeds and variants outside the series', async () => {
    await expect(
      experimentSeries({ out: join(out, 'x'), series: 'mini', seeds: [0], protocol: protocolFile }),
    ).rejects.toThrow(/seeds: must not be tuning seeds of the protocol \(0, 1, 2\); received 0/);
    await expect(
      experimentSeries({ out: join(out, 'x'), series: 'mini', variants: ['bigbang'], protocol: protocolFile }),
    ).rejects.toThrow(/variants: must be variants of the series mini/);
    await expect(experimentSeries({ out: join(out, 'x'), series: 'huge', protocol: protocolFile })).rejects.toThrow(
      /series\.huge: must be one of the protocol's series \(mini\)/,
    );
  });
});
