import { ConfigError, DataError, parseConfig, z } from '@multichexnet/core';
import { loadProtocol, type LoadedProtocol } from '../protocol/protocol';
import { summariseSeeds, type SeedSummary } from '../stats/seed-summary';
import { cell, markdownTable } from '../tables/markdown';
import type { TransferExperimentRuntime } from '../transfer/context';
import { experimentTable3, type Table3 } from '../transfer/table3';
import { experimentTable4, type Table4 } from '../transfer/table4';
import { currentProvenance } from './provenance';
import { metricOn, type ImageRecords, type MetricName } from './records';
import { comparisonSection, seedsText } from './markdown-parts';
import { meanSd } from './render';
import { readSeedRecord } from './run-seed';
import { parseSummary, writeSummary } from './run-series';
import { SERIES_FIELDS } from './series-options';
import { pairedComparison } from './paired-comparison';
import type { Comparison, SeriesFrame } from './summary-types';

/**
 * Options of {@link experimentTransferSeries}: `out` is a Table 1 series folder (Tables 3 and 4 reuse each finished
 * seed's models and data); `seeds` default to the series' seeds, and a seed must have finished Tables 1 and 2.
 */
export const TransferSeriesConfigSchema = z
  .object({ ...SERIES_FIELDS, command: z.string().default('experimentTransferSeries()') })
  .strict();
/** What users pass. */
export type TransferSeriesConfigInput = z.input<typeof TransferSeriesConfigSchema>;

const T3_METRICS: readonly MetricName[] = ['cls.meanAuroc', 'cls.macroF1', 'cls.sensitivity'];
const T4_METRICS: readonly MetricName[] = ['cls.meanAuroc', 'cls.macroF1'];

/** Mean ± sd over seeds of each metric, every test image of the classifier counted (one entry per seed). */
function clsSeedSummaries(
  seeds: readonly { records: ImageRecords }[],
  names: readonly MetricName[],
): Partial<Record<MetricName, SeedSummary>> {
  const metrics: Partial<Record<MetricName, SeedSummary>> = {};
  for (const m of names)
    metrics[m] = summariseSeeds(
      seeds.map((x) =>
        metricOn(
          x.records,
          m,
          (x.records.cls?.labels ?? []).map((_, i) => i),
        ),
      ),
    );
  return metrics;
}

/** Table 3 over seeds, as `table3.json` of a series. */
export interface Table3Summary extends SeriesFrame {
  classes: string[];
  specificity: number;
  rows: {
    method: string;
    label: string;
    freeze: string;
    lrMultiplier: number;
    steps: number;
    metrics: Partial<Record<MetricName, SeedSummary>>;
  }[];
  chance: Record<string, SeedSummary>;
  comparisons: Comparison[];
  verdict: string;
}

/** Table 4 over seeds, as `table4.json` of a series. */
export interface Table4Summary extends SeriesFrame {
  classes: string[];
  rows: {
    model: string;
    label: string;
    steps: number | null;
    extraSteps: number;
    metrics: Partial<Record<MetricName, SeedSummary>>;
    perClass: { auroc: Record<string, number>; f1: Record<string, number> };
  }[];
  comparisons: Comparison[];
  verdict: string;
}

/**
 * The paired comparisons over seeds of each (a, b) pair of a table's rows on each metric, resampled with the seed
 * `<table>/<a>-<b>/<metric>`; metrics no seed defines are left out.
 */
function rowComparisons(
  table: string,
  pairs: readonly (readonly [string, string])[],
  metrics: readonly MetricName[],
  recordsOf: (row: string) => ImageRecords[],
  frame: SeriesFrame,
): Comparison[] {
  return pairs.flatMap(([a, b]) => {
    const ra = recordsOf(a);
    const rb = recordsOf(b);
    const seeds = ra.map((x, k) => ({ a: x, b: rb[k]! }));
    return metrics.flatMap((m) => pairedComparison(seeds, m, { a, b }, frame, `${table}/${a}-${b}`) ?? []);
  });
}

function verdictOf(cs: Comparison[], what: string, confidence: number): string {
  if (cs.length === 0) return 'No comparison.';
  const pct = `${Math.round(confidence * 1000) / 10}%`;
  return (
    cs
      .map(
        (c) =>
          `${c.a} − ${c.b}, ${c.metric}: ${c.interval.difference >= 0 ? '+' : ''}${cell(c.interval.difference)} [${cell(c.interval.low)}, ${cell(c.interval.high)}] ${c.interval.verdict === 'better' ? 'better' : c.interval.verdict === 'worse' ? 'worse' : `no difference at ${pct}`}`,
      )
      .join('; ') + `. ${what}`
  );
}

const meanRecord = (rows: Record<string, number>[]): Record<string, number> => {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, summariseSeeds(rows.map((r) => r[k] ?? Number.NaN)).mean]));
};

/** Table 3 over seeds: mean ± sd per transfer method and the paired intervals against training from scratch. */
export function summariseTable3(tables: Table3[], frame: SeriesFrame): Table3Summary {
  const first = tables[0]!;
  const rows = first.rows.map((r) => {
    const runs = tables.map((t) => t.rows.find((x) => x.method === r.method)!.runs[0]!);
    const metrics = clsSeedSummaries(runs, T3_METRICS);
    return {
      method: r.method,
      label: r.label,
      freeze: r.freeze,
      lrMultiplier: r.lrMultiplier,
      steps: r.steps,
      metrics,
    };
  });
  const recordsOf = (method: string): ImageRecords[] =>
    tables.map((t) => t.rows.find((x) => x.method === method)!.runs[0]!.records);
  const comparisons = rowComparisons(
    'table3',
    [
      ['stage1', 'scratch'],
      ['mtl', 'scratch'],
      ['mtl', 'stage1'],
    ],
    T3_METRICS,
    recordsOf,
    frame,
  );
  const chance = {
    'constant.auroc': summariseSeeds(tables.map((t) => t.chance.constant.auroc)),
    'random.auroc': summariseSeeds(tables.map((t) => t.chance.random.auroc)),
    'constant.f1': summariseSeeds(tables.map((t) => t.chance.constant.f1)),
  };
  return {
    ...frame,
    classes: first.classes,
    specificity: first.specificity,
    rows,
    chance,
    comparisons,
    verdict: verdictOf(
      comparisons,
      "Each seed trains its own source models (Table 1's) and re-draws the COVID patient split; the three rows of a seed share it.",
      frame.bootstrap.confidence,
    ),
  };
}

/** Table 4 over seeds: mean ± sd per model and the paired intervals of MultiCheXNet minus CheXNet at equal budgets. */
export function summariseTable4(tables: Table4[], frame: SeriesFrame): Table4Summary {
  const first = tables[0]!;
  const rows = first.rows.map((r) => {
    const rs = tables.map((t) => t.rows.find((x) => x.model === r.model)!);
    const metrics = clsSeedSummaries(rs, T4_METRICS);
    return {
      model: r.model,
      label: r.label,
      steps: r.steps,
      extraSteps: r.fineTune?.steps ?? 0,
      metrics,
      perClass: {
        auroc: meanRecord(rs.map((x) => Object.fromEntries(Object.entries(x.perClass).map(([c, v]) => [c, v.auroc])))),
        f1: meanRecord(rs.map((x) => Object.fromEntries(Object.entries(x.perClass).map(([c, v]) => [c, v.f1])))),
      },
    };
  });
  const recordsOf = (model: string): ImageRecords[] =>
    tables.map((t) => t.rows.find((x) => x.model === model)!.records);
  const comparisons = rowComparisons(
    'table4',
    [
      ['mtl-finetuned', 'chexnet-finetuned'],
      ['mtl', 'chexnet'],
    ],
    T4_METRICS,
    recordsOf,
    frame,
  );
  return {
    ...frame,
    classes: first.classes,
    rows,
    comparisons,
    verdict: verdictOf(
      comparisons,
      'Each pair has the same budget: both as trained, or both with the same extra NIH fine-tuning.',
      frame.bootstrap.confidence,
    ),
  };
}

function frameText(f: SeriesFrame): string[] {
  return [
    `# ${f.title}`,
    '',
    `Series \`${f.series}\`: plan size \`${f.size}\`, step scale ${f.stepScale}; ${seedsText(f)}; protocol sha256 \`${f.protocol?.sha256.slice(0, 16) ?? 'none'}\`. Cells: mean ± sample sd over seeds. Intervals: paired bootstrap over seeds, then test images (${f.bootstrap.resamples} resamples, ${Math.round(f.bootstrap.confidence * 100)}%).`,
    '',
  ];
}

/** How a transfer table over seeds ends: its comparisons under `title` (metrics by name), its verdict, its provenance. */
function closing(title: string, t: SeriesFrame & { comparisons: Comparison[]; verdict: string }): string[] {
  return [...comparisonSection(title, t, { metricText: (m) => m }), ...provenanceText(t)];
}

function provenanceText(f: SeriesFrame): string[] {
  const p = f.provenance;
  return [
    '## Provenance',
    '',
    `- command: \`${p.command}\``,
    `- commit: ${p.commit ?? 'unknown'}${p.dirty === true ? ' (with uncommitted changes)' : ''}`,
    `- machine: ${p.machine.cpus} CPUs (${p.machine.cpuModel}), ${p.machine.memoryGiB} GiB, Node ${p.machine.node}, ${p.machine.platform}`,
    `- started ${p.startedAt}, last updated ${p.updatedAt}`,
    '',
  ];
}

/** Table 3's Markdown, rendered from its JSON alone. */
export function renderTable3(t: Table3Summary): string {
  return [
    ...frameText(t),
    `Classes: ${t.classes.join(', ')}; sensitivity at specificity ${cell(t.specificity, 2)}; F1 at the validation-chosen threshold. Chance: constant score AUROC ${meanSd(t.chance['constant.auroc'])}, random scores ${meanSd(t.chance['random.auroc'])}.`,
    '',
    markdownTable(
      ['Model', 'AUROC', 'F1', 'sensitivity', 'freeze', 'lr mult.', 'fine-tune steps'],
      t.rows.map((r) => [
        r.label,
        meanSd(r.metrics['cls.meanAuroc']),
        meanSd(r.metrics['cls.macroF1']),
        meanSd(r.metrics['cls.sensitivity']),
        r.freeze,
        String(r.lrMultiplier),
        String(r.steps),
      ]),
    ),
    '',
    ...closing('Transfer minus scratch', t),
  ].join('\n');
}

/** Table 4's Markdown, rendered from its JSON alone. */
export function renderTable4(t: Table4Summary): string {
  const head = ['Class', ...t.rows.flatMap((r) => [`${r.model} F1`, `${r.model} AUROC`])];
  const body = t.classes.map((c) => [c, ...t.rows.flatMap((r) => [cell(r.perClass.f1[c]), cell(r.perClass.auroc[c])])]);
  body.push([
    '**Mean (± sd over seeds)**',
    ...t.rows.flatMap((r) => [meanSd(r.metrics['cls.macroF1']), meanSd(r.metrics['cls.meanAuroc'])]),
  ]);
  return [
    ...frameText(t),
    markdownTable(head, body),
    '',
    ...t.rows.map(
      (r) =>
        `- ${r.model}: ${r.label}; ${r.steps ?? '?'} steps${r.extraSteps > 0 ? ` (of which ${r.extraSteps} extra NIH fine-tuning steps)` : ''}`,
    ),
    '',
    ...closing('MultiCheXNet minus CheXNet at equal budgets', t),
  ].join('\n');
}

async function readJson<T>(file: string): Promise<T | null> {
  const fs = await import('node:fs/promises');
  try {
    return parseSummary<T>(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Tables 3 and 4 over the finished seeds of a Table 1 series: each seed reuses its folder's models (MultiCheXNet
 * joint, the CheXNet baseline single-cls) and data, fine-tunes with the protocol's budgets in
 * `<out>/seed-<n>/transfer`, and the series' `table3` / `table4` files get mean ± sd and paired intervals.
 * Finished seeds are read, not recomputed.
 *
 * @example
 * await experimentTransferSeries({ out: 'runs/series-tiny', series: 'tiny' });
 */
export async function experimentTransferSeries(
  input: TransferSeriesConfigInput,
  runtime: Omit<TransferExperimentRuntime, 'data' | 'covid'> = {},
): Promise<{ table3: Table3Summary; table4: Table4Summary; protocol: LoadedProtocol }> {
  const cfg = parseConfig(TransferSeriesConfigSchema, input, 'transfer series config');
  const { join } = await import('node:path');
  const protocol = await loadProtocol(cfg.protocol, { allowUnfrozen: cfg.allowUnfrozen });
  const p = protocol.protocol;
  const s = p.series[cfg.series];
  if (s === undefined)
    throw new ConfigError(`protocol ${protocol.file}`, [
      {
        path: `series.${cfg.series}`,
        rule: `must be one of the protocol's series (${Object.keys(p.series).join(', ')})`,
        received: 'nothing',
      },
    ]);
  const planned = cfg.seeds ?? p.finalSeeds.slice(0, s.seeds);
  const t3s: Table3[] = [];
  const t4s: Table4[] = [];
  const done: number[] = [];
  for (const seed of planned) {
    const seedDir = join(cfg.out, `seed-${seed}`);
    const rec = await readSeedRecord(seedDir);
    if (rec === null) continue;
    if (rec.protocol?.sha256 !== protocol.sha256) {
      throw new DataError('The seed folder was run under another protocol', {
        file: seedDir,
        field: 'protocol.sha256',
        expected: protocol.sha256,
        found: rec.protocol?.sha256 ?? 'none',
      });
    }
    const dir = join(seedDir, 'transfer');
    const common = {
      out: dir,
      reuse: seedDir,
      size: s.size,
      seed,
      seeds: 1,
      stepScale: s.stepScale,
      synthetic: { covid: s.synthetic.covid },
    };
    const t3 =
      (await readJson<Table3>(join(dir, 'table3.json'))) ??
      (await experimentTable3({ ...common, fineTune: { steps: p.transfer.covidFineTuneSteps } }, runtime));
    const t4 =
      (await readJson<Table4>(join(dir, 'table4.json'))) ??
      (await experimentTable4({ ...common, nihFineTune: { steps: p.transfer.nihExtraSteps } }, runtime));
    t3s.push(t3);
    t4s.push(t4);
    done.push(seed);
  }
  if (done.length === 0)
    throw new DataError('No seed of the series has finished Tables 1 and 2', {
      file: cfg.out,
      expected: `seed-<n>/seed-tables12.json for some of ${planned.join(', ')}`,
      found: 'none',
    });
  const frame = (title: string): SeriesFrame => ({
    title,
    protocol: { sha256: protocol.sha256, frozenAt: protocol.frozenAt },
    series: cfg.series,
    size: s.size,
    stepScale: s.stepScale,
    seeds: done,
    plannedSeeds: planned,
    seedCommits: {},
    bootstrap: p.bootstrap,
    provenance: currentProvenance(cfg.command, new Date().toISOString()),
  });
  const table3 = summariseTable3(t3s, frame(`Table 3: transfer to COVID-19 (series ${cfg.series})`));
  const table4 = summariseTable4(
    t4s,
    frame(`Table 4: MultiCheXNet's classification path vs CheXNet-multilabel at equal budgets (series ${cfg.series})`),
  );
  await writeSummary(cfg.out, 'table3', table3, renderTable3(table3));
  await writeSummary(cfg.out, 'table4', table4, renderTable4(table4));
  return { table3, table4, protocol };
}
