import type { ResultTable } from './report-data';

/*
 * The experiment functions of @multichexnet/experiments write `table<N>.json` into their
 * folder; these turn them into the report's tables. Numbers arrive as numbers, or as "NaN" strings where a metric
 * was undefined: those become empty cells.
 */

type Json = Record<string, unknown>;
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const at = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Json)[k] : undefined), o);

function table1(t: Json): ResultTable {
  const chance = (t.chance ?? {}) as Json;
  const rows: ResultTable['rows'] = [
    [
      'Chance: constant scores / no boxes / empty masks',
      numOrNull(at(chance, 'cls.constantMeanAuroc')),
      numOrNull(at(chance, 'cls.allPositiveMacroF1')),
      numOrNull(at(chance, 'det.emptyMAP')),
      numOrNull(at(chance, 'det.emptyAp50')),
      numOrNull(at(chance, 'seg.emptyDice')),
      null,
      null,
    ],
    [
      'Chance: random scores / one random box / full masks',
      numOrNull(at(chance, 'cls.randomMeanAuroc')),
      null,
      numOrNull(at(chance, 'det.randomMAP')),
      numOrNull(at(chance, 'det.randomAp50')),
      numOrNull(at(chance, 'seg.fullDice')),
      null,
      null,
    ],
  ];
  for (const r of (t.rows ?? []) as Json[]) {
    rows.push([
      `${String(r.label ?? r.variant)}${r.gating === 'gate' ? ' †' : ''}`,
      numOrNull(at(r, 'cls.meanAuroc')),
      numOrNull(at(r, 'cls.macroF1')),
      numOrNull(at(r, 'det.mAP')),
      numOrNull(at(r, 'det.ap50')),
      numOrNull(at(r, 'seg.dice')),
      numOrNull(r.steps),
      numOrNull(r.trainSeconds),
    ]);
  }
  const img = (t.testImages ?? {}) as Json;
  return {
    id: 'table1',
    title: String(t.title ?? 'Table 1'),
    caption: `Test split: NIH ${String(img.nih ?? '?')}, RSNA ${String(img.rsna ?? '?')}, SIIM ${String(img.siim ?? '?')} images. † gated pipeline: det/seg predict only for images the trained gate passes. ${String(t.verdict ?? '')}`,
    columns: [
      'Model',
      'cls mean AUROC (NIH)',
      'cls macro F1',
      'det mAP (RSNA)',
      'det AP@0.5',
      'seg Dice (SIIM)',
      'steps',
      'train s',
    ],
    rows,
    highlight: [1, 2, 3, 4, 5],
    referenceRows: [0, 1],
    decimals: { 6: 0, 7: 0 },
  };
}

function table2(t: Json): ResultTable {
  const rows: ResultTable['rows'] = ((t.rows ?? []) as Json[]).map((r) => [
    String(r.variant),
    String(r.gating),
    numOrNull(at(r, 'det.mAP')),
    numOrNull(at(r, 'det.ap50')),
    numOrNull(at(r, 'seg.dice')),
    numOrNull(at(r, 'gate.sensitivity')),
    numOrNull(at(r, 'gate.specificity')),
    r.gate ? `${String(at(r, 'gate.falsePositives'))} / ${String(at(r, 'gate.falseNegatives'))}` : null,
    numOrNull(at(r, 'gate.threshold')),
  ]);
  return {
    id: 'table2',
    title: String(t.title ?? 'Table 2'),
    caption:
      'gate: the trained gate (its false positives reach det/seg, its false negatives get nothing); truth: ground-truth gating; none: det/seg on every image. Gate sensitivity / specificity on the RSNA + SIIM test images at the threshold chosen on validation data.',
    columns: [
      'Model',
      'Gating',
      'det mAP (RSNA)',
      'det AP@0.5',
      'seg Dice (SIIM)',
      'gate sensitivity',
      'gate specificity',
      'gate FP / FN',
      'gate threshold',
    ],
    rows,
    highlight: [2, 3, 4],
  };
}

const spreadText = (v: unknown): string | null => {
  const sp = v as { mean?: unknown; std?: unknown; n?: unknown; of?: unknown } | undefined;
  const std = numOrNull(sp?.std);
  return std === null
    ? null
    : `± ${std.toFixed(3)}${sp?.n !== sp?.of ? ` (${String(sp?.n)}/${String(sp?.of)} defined)` : ''}`;
};

function table3(t: Json): ResultTable {
  const chance = (t.chance ?? {}) as Json;
  // the chance baselines fill the metric columns only (no spread, no source, no fine-tuning)
  const chanceRow = (label: string, kind: 'constant' | 'random'): ResultTable['rows'][number] => [
    label,
    numOrNull(at(chance, `${kind}.auroc`)),
    null,
    numOrNull(at(chance, `${kind}.f1`)),
    null,
    numOrNull(at(chance, `${kind}.sensitivity`)),
    null,
    null,
    null,
  ];
  const rows: ResultTable['rows'] = [
    chanceRow('Chance: constant score', 'constant'),
    chanceRow('Chance: random scores', 'random'),
  ];
  for (const r of (t.rows ?? []) as Json[]) {
    const runs = ((r.runs ?? []) as unknown[]).length;
    rows.push([
      String(r.label ?? r.method),
      numOrNull(at(r, 'summary.auroc.mean')),
      spreadText(at(r, 'summary.auroc')),
      numOrNull(at(r, 'summary.f1.mean')),
      spreadText(at(r, 'summary.f1')),
      numOrNull(at(r, 'summary.sensitivity.mean')),
      spreadText(at(r, 'summary.sensitivity')),
      `${String(r.freeze)}, ${String(r.steps)} steps`,
      runs,
    ]);
  }
  const data = (t.data ?? {}) as Json;
  const classes = ((t.classes ?? []) as string[]).join(', ');
  return {
    id: 'table3',
    title: String(t.title ?? 'Table 3'),
    caption: `${classes} on the COVID-19 test split (${String(at(data, 'images.test') ?? '?')} images, ${String(at(data, 'positives.test') ?? '?')} positive); mean ± std over the seeds. F1 at the threshold chosen on validation data; sensitivity at specificity >= ${String(t.specificity ?? '?')}. ${String(t.verdict ?? '')}`,
    columns: [
      'Method',
      'AUROC',
      '',
      'F1',
      '',
      `Sensitivity @ spec ${String(t.specificity ?? '')}`,
      '',
      'training',
      'seeds',
    ],
    rows,
    highlight: [1, 3, 5],
    referenceRows: [0, 1],
    decimals: { 8: 0 },
  };
}

function table4(t: Json): ResultTable {
  const models = (t.rows ?? []) as Json[];
  const classes = (t.classes ?? []) as string[];
  const rows: ResultTable['rows'] = classes.map((c) => [
    c,
    ...models.flatMap((m) => [numOrNull(at(m, `perClass.${c}.f1`)), numOrNull(at(m, `perClass.${c}.auroc`))]),
  ]);
  rows.push(['Mean', ...models.flatMap((m) => [numOrNull(m.macroF1), numOrNull(m.meanAuroc)])]);
  const f1Cols = models.map((_, i) => 1 + 2 * i);
  const aurocCols = models.map((_, i) => 2 + 2 * i);
  return {
    id: 'table4',
    title: String(t.title ?? 'Table 4'),
    caption: `NIH test split (${String(t.testImages ?? '?')} images). F1 at the threshold chosen on the NIH validation split; the best model per class in bold. ${String(t.verdict ?? '')}`,
    columns: [
      'Class',
      ...models.flatMap((m) => [`F1 · ${String(m.label ?? m.model)}`, `AUROC · ${String(m.label ?? m.model)}`]),
    ],
    rows,
    highlightAcross: [f1Cols, aurocCols],
  };
}

/** Any other table: one column per scalar field of its rows (nested objects flattened with dots). */
function generic(id: string, t: Json): ResultTable {
  const flat = (o: unknown, prefix = ''): [string, unknown][] =>
    o !== null && typeof o === 'object' && !Array.isArray(o)
      ? Object.entries(o as Json).flatMap(([k, v]) => flat(v, prefix ? `${prefix}.${k}` : k))
      : [[prefix, o]];
  const rows = ((t.rows ?? []) as Json[]).map(
    (r) => new Map(flat(r).filter(([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')),
  );
  const columns = [...new Set(rows.flatMap((r) => [...r.keys()]))];
  return {
    id,
    title: String(t.title ?? id),
    caption: typeof t.caption === 'string' ? t.caption : '',
    columns,
    rows: rows.map((r) =>
      columns.map((c) => {
        const v = r.get(c);
        return typeof v === 'number' ? numOrNull(v) : v === undefined || v === 'NaN' ? null : String(v);
      }),
    ),
  };
}

/**
 * Table 1 / Table 2 of a series (@multichexnet/experiments `experimentSeries`): rows hold `metrics` with a mean
 * and sd over seeds per metric; one column per metric present (the mean), the caption the table's verdict.
 */
function seriesTable(id: string, t: Json): ResultTable {
  const rows = (t.rows ?? []) as Json[];
  const metrics = [...new Set(rows.flatMap((r) => Object.keys((r.metrics ?? {}) as Json)))];
  return {
    id,
    title: String(t.title ?? id),
    caption: `Mean over ${((t.seeds ?? []) as unknown[]).length} seeds; intervals and verdicts in ${id}.md. ${String(t.verdict ?? '')}`,
    columns: ['Model', ...(id === 'table2' ? ['Gating'] : []), ...metrics],
    rows: rows.map((r) => [
      String(r.label ?? r.variant),
      ...(id === 'table2' ? [String(r.gating)] : []),
      ...metrics.map((m) => numOrNull(((r.metrics as Json)[m] as Json | undefined)?.mean)),
    ]),
  };
}

const isSeries = (t: Json): boolean => Array.isArray(t.comparisons) && Array.isArray(t.seeds);

/** The report table of `table<N>.json` content. *
 * @example
 * const t = paperTable('table1', JSON.parse(await readFile('runs/quickstart/table1.json', 'utf8')));   // t.rows
 */
export function paperTable(id: string, json: unknown): ResultTable {
  const t = (json ?? {}) as Json;
  if ((id === 'table1' || id === 'table2') && isSeries(t)) return seriesTable(id, t);
  if (id === 'table1') return table1(t);
  if (id === 'table2') return table2(t);
  if (id === 'table3') return table3(t);
  if (id === 'table4') return table4(t);
  return generic(id, t);
}

/** File names of the paper tables, in order. */
export const PAPER_TABLE_FILES = ['table1', 'table2', 'table3', 'table4'] as const;
