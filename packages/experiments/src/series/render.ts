import type { SeedSummary } from '../stats/seed-summary';
import { cell, markdownTable } from '../tables/markdown';
import { METRIC_INFO, METRICS, taskOf, type MetricName } from './records';
import { comparisonSection, seedsText } from './markdown-parts';
import type { SeriesFrame, Table1Summary, Table2Summary } from './summary-types';

/** `mean ± sd` (sd only with 2 or more seeds; `n/a` where undefined). */
export function meanSd(s: SeedSummary | undefined): string {
  if (s === undefined) return '–';
  if (s.seeds === 0) return 'n/a';
  return s.seeds < 2 ? cell(s.mean) : `${cell(s.mean)} ± ${cell(s.sd)}`;
}

function header(f: SeriesFrame): string[] {
  const p =
    f.protocol === null
      ? 'no protocol (a smoke run: not a result)'
      : `protocol sha256 \`${f.protocol.sha256.slice(0, 16)}\`${f.protocol.frozenAt === null ? ' (NOT frozen)' : ` frozen ${f.protocol.frozenAt}`}`;
  return [
    `# ${f.title}`,
    '',
    `Series \`${f.series}\`: plan size \`${f.size}\`, step scale ${f.stepScale} (every phase's steps of the built-in plan times this); ${seedsText(f)}; ${p}. Cells: mean ± sample sd over seeds. Intervals: paired bootstrap over seeds, then test images (${f.bootstrap.resamples} resamples, ${Math.round(f.bootstrap.confidence * 100)}% percentile), verdict from the interval.`,
  ];
}

function provenance(f: SeriesFrame): string[] {
  const p = f.provenance;
  return [
    '## Provenance',
    '',
    `- command: \`${p.command}\``,
    `- commit: ${p.commit ?? 'unknown'}${p.dirty === true ? ' (with uncommitted changes)' : ''}; each seed ran on ${[...new Set(Object.values(f.seedCommits))].map((c) => (c ?? 'unknown').slice(0, 12)).join(', ')} (${Object.entries(
      f.seedCommits,
    )
      .map(([s, c]) => `${s}: ${(c ?? 'unknown').slice(0, 12)}`)
      .join(', ')})`,
    `- machine: ${p.machine.cpus} CPUs (${p.machine.cpuModel}), ${p.machine.memoryGiB} GiB, Node ${p.machine.node}, ${p.machine.platform}`,
    `- started ${p.startedAt}, last updated ${p.updatedAt}`,
    '',
  ];
}

/** Seeds a row holds (a variant may have run on fewer seeds than the table). */
const seedsOf = (r: { metrics: Partial<Record<MetricName, SeedSummary>> }): number =>
  Math.max(0, ...Object.values(r.metrics).map((x) => x!.seeds + x!.undefinedSeeds));

const TABLE1_METRICS: readonly MetricName[] = METRICS.filter(
  (m) => m !== 'gate.sensitivity' && m !== 'gate.specificity' && m !== 'cls.sensitivity',
);

/**
 * Table 1's Markdown, rendered from its JSON alone (so a test can render the committed JSON and compare it with the
 * committed Markdown).
 */
export function renderTable1(t: Table1Summary): string {
  const ch = (k: string): string => meanSd(t.chance[k]);
  const metricRows: string[][] = [
    [
      'Chance: constant scores / no boxes / empty masks',
      '–',
      ch('cls.constantMeanAuroc'),
      ch('cls.allPositiveMacroF1'),
      ch('det.emptyMAP'),
      ch('det.emptyAp50'),
      '–',
      ch('seg.emptyDice'),
      '–',
      '–',
    ],
    [
      'Chance: random scores / one random box / full masks',
      '–',
      ch('cls.randomMeanAuroc'),
      '–',
      ch('det.randomMAP'),
      ch('det.randomAp50'),
      '–',
      ch('seg.fullDice'),
      '–',
      '–',
    ],
    ...t.rows.map((r) => [
      `${r.label}${r.gating === 'gate' ? ' †' : ''}`,
      `${r.kind}${seedsOf(r) < t.seeds.length ? ` (${seedsOf(r)} of ${t.seeds.length} seeds)` : ''}`,
      ...TABLE1_METRICS.map((m) => meanSd(r.metrics[m])),
    ]),
  ];
  const heads = ['cls', 'det', 'seg'] as const;
  const budgetRows = t.rows.map((r) => [
    r.label,
    r.gating,
    String(r.steps),
    ...heads.flatMap((h) => [
      r.budget[h] ? String(r.budget[h]!.steps) : '–',
      r.budget[h] ? String(r.budget[h]!.images) : '–',
    ]),
    meanSd(r.trainSeconds).replace(/\.\d+/g, ''),
  ]);
  const withClasses = t.rows.filter((r) => r.perClass !== undefined);
  const classes = [...new Set(withClasses.flatMap((r) => Object.keys(r.perClass!.auroc)))];
  const classRows = classes.map((c) => [
    c,
    ...withClasses.flatMap((r) => [cell(r.perClass!.auroc[c]), cell(r.perClass!.f1[c])]),
  ]);
  return [
    ...header(t),
    '',
    `Test split per seed (mean): NIH ${t.testImages.nih}, RSNA ${t.testImages.rsna}, SIIM ${t.testImages.siim} images; every seed writes its own synthetic data and split.`,
    '',
    markdownTable(['Model', 'kind', ...TABLE1_METRICS.map((m) => METRIC_INFO[m].label)], metricRows),
    '',
    "† gated like MultiCheXNet: det / seg predict only for the images the trained gate passes (its threshold chosen on validation data for the plan's sensitivity), empty for the rest. Ungated single-task models predict on every image. Leaderboard family: NIH mean AUROC, RSNA mAP, SIIM Dice over all images (empty on empty scores 1), VOC AP@0.5 over all images. Authors' family: macro F1, VOC AP@0.5 and Dice on the images with a finding. Decision settings (F1 thresholds, box score threshold, smallest mask kept) are chosen per model on the validation split.",
    '',
    '## Budgets',
    '',
    'Steps whose loss included the head, and the labelled images those steps fed it (batch rows from datasets carrying its label, before teacher-forced routing), over every phase that trained the model (MultiCheXNet: its share of the pre-training included).',
    '',
    markdownTable(
      [
        'Model',
        'gating',
        'steps',
        'cls steps',
        'cls images',
        'det steps',
        'det images',
        'seg steps',
        'seg images',
        'train s (mean ± sd)',
      ],
      budgetRows,
    ),
    '',
    ...comparisonSection('MTL minus baselines', t, {
      note: "Every MTL row (BigBang, MultiCheXNet joint / alternating, the GradNorm and PCGrad ablations) minus each baseline of the same head: the ungated single-task model and the paper's baseline, the pre-training stage of Algorithm 1 gated like MultiCheXNet.",
      confidence: t.bootstrap.confidence,
    }),
    ...(classes.length === 0
      ? []
      : [
          '## Per class (mean over seeds)',
          '',
          markdownTable(['Class', ...withClasses.flatMap((r) => [`${r.variant} AUROC`, `${r.variant} F1`])], classRows),
          '',
        ]),
    ...provenance(t),
  ].join('\n');
}

const TABLE2_METRICS: readonly MetricName[] = METRICS.filter(
  (m) =>
    taskOf(m) === 'det' ||
    taskOf(m) === 'seg' ||
    m === 'gate.sensitivity' ||
    m === 'gate.specificity' ||
    m === 'gate.auroc',
);

/** Table 2's Markdown, rendered from its JSON alone. */
export function renderTable2(t: Table2Summary): string {
  const rows = t.rows.map((r) => [
    r.label,
    r.gating,
    ...TABLE2_METRICS.map((m) => (taskOf(m) === 'gate' && r.gating !== 'gate' ? '–' : meanSd(r.metrics[m]))),
  ]);
  return [
    ...header(t),
    '',
    markdownTable(['Model', 'gating', ...TABLE2_METRICS.map((m) => METRIC_INFO[m].label)], rows),
    '',
    '- `gate`: the trained gate at its validation-chosen threshold (its false positives reach det / seg, its false negatives get empty predictions).',
    '- `truth`: ground-truth gating (only truly positive images get predictions).',
    '- `none`: det / seg on every image.',
    '',
    'Gate metrics on the RSNA + SIIM test images (positive = Pneumonia or Pneumothorax).',
    '',
    ...comparisonSection('What the gate costs and buys', t, { confidence: t.bootstrap.confidence }),
    ...provenance(t),
  ].join('\n');
}
