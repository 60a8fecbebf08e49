import type { ExperimentConfigInput, Variant } from './experiment-config';
import { chanceBaselines, type ChanceBaselines } from './baselines';
import { cell, markdownTable } from './markdown';
import {
  evaluateVariant,
  prepareExperiment,
  trainVariant,
  type ExperimentContext,
  type ExperimentRuntime,
  type TrainedVariant,
} from './run-variants';
import { clsTask } from '@multichexnet/head-cls';
import { detTask } from '@multichexnet/head-det';
import { segTask } from '@multichexnet/head-seg';
import type { Gating } from '@multichexnet/model';
import { taskMetrics, type Calibration, type EvalResult } from '@multichexnet/trainer';
import { publishTable } from './table-files';

/** One row of Table 1. */
export interface Table1Row {
  variant: Variant;
  label: string;
  /** How det / seg chose their images at test time. */
  gating: Gating;
  steps: number;
  trainSeconds: number;
  cls?: { meanAuroc: number; macroF1: number; perClassAuroc: Record<string, number> };
  det?: { mAP: number; ap50: number };
  seg?: { dice: number };
  /** Decision settings chosen on the validation split and applied to the test split. */
  calibration: Calibration;
}

/** MTL against the single-task baseline on one metric. */
export interface Table1Comparison {
  metric: 'cls.meanAuroc' | 'cls.macroF1' | 'det.mAP' | 'det.ap50' | 'seg.dice';
  single: number;
  bestMtl: { variant: Variant; value: number };
  delta: number;
  mtlBetter: boolean;
}

/** Table 1 as written to `table1.json`. */
export interface Table1 {
  title: string;
  config: ExperimentContext['config'];
  testImages: { nih: number; rsna: number; siim: number };
  chance: ChanceBaselines;
  rows: Table1Row[];
  comparison: Table1Comparison[];
  /** The sentence the Markdown ends with: whether MTL beat the single-task baselines. */
  verdict: string;
  /**
   * Wall-clock seconds of this call (generation, training over every call that trained a variant, evaluation,
   * total) and the CPU seconds of the process during this call (all threads): on a shared machine the CPU time
   * shows what the run cost when other processes stretch the wall clock.
   */
  seconds: { generation: number; training: number; evaluation: number; total: number; cpu: number };
  markdown: string;
}

/** CPU seconds (user + system, every thread) of this process since `since`. */
export function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/** Row labels of the variants. */
export const VARIANT_LABELS: Record<Variant, string> = {
  'single-cls': 'Single-task CheXCls (ungated)',
  'single-det': 'Single-task CheXDet (ungated, every image)',
  'single-seg': 'Single-task CheXSeg (ungated, every image)',
  'stage1-cls': 'Algorithm 1 stage 1: CheXCls on NIH',
  'stage2-det': 'Algorithm 1 stage 2: then CheXDet on RSNA (gated)',
  'stage3-seg': 'Algorithm 1 stage 3: then CheXSeg on SIIM (gated)',
  bigbang: 'BigBang MTL (no pre-training)',
  'multichexnet-joint': 'MultiCheXNet (pre-trained + joint MTL)',
  'multichexnet-alternating': 'MultiCheXNet (pre-trained + alternating MTL)',
  'multichexnet-joint-gradnorm': 'MultiCheXNet, joint MTL with GradNorm',
  'multichexnet-joint-pcgrad': 'MultiCheXNet, joint MTL with PCGrad',
};

function rowOf(v: TrainedVariant, r: EvalResult & { calibration: Calibration }): Table1Row {
  const row: Table1Row = {
    variant: v.variant,
    label: VARIANT_LABELS[v.variant],
    gating: r.gating,
    steps: v.steps,
    trainSeconds: v.seconds,
    calibration: r.calibration,
  };
  const cls = taskMetrics(r, clsTask);
  const det = taskMetrics(r, detTask);
  const seg = taskMetrics(r, segTask);
  if (cls) row.cls = { meanAuroc: cls.meanAuroc, macroF1: cls.macroF1, perClassAuroc: cls.perClassAuroc };
  if (det) row.det = { mAP: det.mAP, ap50: det.ap50 };
  if (seg) row.seg = { dice: seg.dice };
  return row;
}

const METRICS: { metric: Table1Comparison['metric']; single: Variant; get: (r: Table1Row) => number | undefined }[] = [
  { metric: 'cls.meanAuroc', single: 'single-cls', get: (r) => r.cls?.meanAuroc },
  { metric: 'cls.macroF1', single: 'single-cls', get: (r) => r.cls?.macroF1 },
  { metric: 'det.mAP', single: 'single-det', get: (r) => r.det?.mAP },
  { metric: 'det.ap50', single: 'single-det', get: (r) => r.det?.ap50 },
  { metric: 'seg.dice', single: 'single-seg', get: (r) => r.seg?.dice },
];

function compare(rows: Table1Row[]): Table1Comparison[] {
  const out: Table1Comparison[] = [];
  const mtl = rows.filter((r) => r.variant === 'bigbang' || r.variant.startsWith('multichexnet'));
  for (const m of METRICS) {
    const single = rows.find((r) => r.variant === m.single);
    const s = single ? m.get(single) : undefined;
    const candidates = mtl
      .map((r) => ({ variant: r.variant, value: m.get(r) }))
      .filter((c): c is { variant: Variant; value: number } => c.value !== undefined && Number.isFinite(c.value));
    if (s === undefined || !Number.isFinite(s) || candidates.length === 0) continue;
    const best = candidates.reduce((a, b) => (b.value > a.value ? b : a));
    out.push({ metric: m.metric, single: s, bestMtl: best, delta: best.value - s, mtlBetter: best.value > s });
  }
  return out;
}

function verdictOf(c: Table1Comparison[]): string {
  if (c.length === 0) return 'No comparison: the single-task baselines or the MTL variants were not trained.';
  const won = c.filter((x) => x.mtlBetter).map((x) => x.metric);
  const lost = c.filter((x) => !x.mtlBetter).map((x) => x.metric);
  if (lost.length === 0) return `MTL beat the single-task baselines on every metric (${won.join(', ')}).`;
  if (won.length === 0) return `MTL did not beat the single-task baselines on any metric (${lost.join(', ')}).`;
  return `MTL beat the single-task baselines on ${won.join(', ')} but not on ${lost.join(', ')}.`;
}

function markdownOf(t: Omit<Table1, 'markdown'>): string {
  const ch = t.chance;
  const header = [
    'Model',
    'cls mean AUROC (NIH)',
    'cls macro F1',
    'det mAP (RSNA)',
    'det AP@0.5',
    'seg Dice (SIIM)',
    'steps',
    'train s',
  ];
  const rows: string[][] = [];
  rows.push([
    'Chance: constant scores / no boxes / empty masks',
    cell(ch.cls?.constantMeanAuroc),
    cell(ch.cls?.allPositiveMacroF1),
    cell(ch.det?.emptyMAP),
    cell(ch.det?.emptyAp50),
    cell(ch.seg?.emptyDice),
    '–',
    '–',
  ]);
  rows.push([
    'Chance: random scores / one random box / full masks',
    cell(ch.cls?.randomMeanAuroc),
    '–',
    cell(ch.det?.randomMAP),
    cell(ch.det?.randomAp50),
    cell(ch.seg?.fullDice),
    '–',
    '–',
  ]);
  for (const r of t.rows) {
    rows.push([
      `${r.label}${r.gating === 'gate' ? ' †' : ''}`,
      cell(r.cls?.meanAuroc),
      cell(r.cls?.macroF1),
      cell(r.det?.mAP),
      cell(r.det?.ap50),
      cell(r.seg?.dice),
      String(r.steps),
      r.trainSeconds.toFixed(0),
    ]);
  }
  const cmp = t.comparison.map(
    (c) =>
      `- ${c.metric}: single-task ${cell(c.single)}, best MTL ${cell(c.bestMtl.value)} (${c.bestMtl.variant}), ${c.delta >= 0 ? '+' : ''}${cell(c.delta)}`,
  );
  return [
    `# ${t.title}`,
    '',
    `Test split: NIH ${t.testImages.nih}, RSNA ${t.testImages.rsna}, SIIM ${t.testImages.siim} images. Plan size \`${t.config.size}\`, seed ${t.config.seed}.`,
    '',
    markdownTable(header, rows),
    '',
    '† gated pipeline: det / seg predictions only for images the trained gate lets through (threshold chosen on validation data), empty for the rest. Single-task det / seg models run on every image.',
    '',
    'Decision settings are chosen on the validation split per model and applied unchanged to the test split: per-class F1 thresholds, the box score threshold of the RSNA mAP (AP@0.5 ranks every box), and the smallest mask area kept for the SIIM Dice. Steps: MultiCheXNet counts its share of the pre-training; BigBang gets the whole protocol; a single-task baseline gets as many steps as the protocol trains its head.',
    '',
    '## MTL against the single-task baselines',
    '',
    ...cmp,
    '',
    `**${t.verdict}**`,
    '',
    `Time (wall clock): data ${t.seconds.generation.toFixed(0)} s, training ${t.seconds.training.toFixed(0)} s, evaluation ${t.seconds.evaluation.toFixed(0)} s, total ${t.seconds.total.toFixed(0)} s; CPU time of the process ${t.seconds.cpu.toFixed(0)} s.`,
    '',
  ].join('\n');
}

/**
 * Table 1 of the paper: each head's test metrics (NIH mean AUROC and macro F1, RSNA mAP and AP@0.5, SIIM Dice) for
 * the single-task baselines, BigBang MTL and MultiCheXNet (pre-trained + joint / alternating MTL, the pre-training
 * shared), next to chance baselines computed on the same test sets. Writes `table1.json` and `table1.md` into
 * `config.out`; every number comes from the run.
 *
 * @example
 * const t1 = await experimentTable1({ out: 'runs/table1', size: 'tiny', seed: 1 });
 * console.log(t1.markdown);
 */
export async function experimentTable1(
  config: ExperimentConfigInput,
  runtime: ExperimentRuntime = {},
): Promise<Table1> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const ctx = await prepareExperiment(config, runtime);
  const rows: Table1Row[] = [];
  let evaluation = 0;
  const raws: EvalResult['raw'][] = [];
  for (const variant of ctx.config.variants) {
    const v = await trainVariant(ctx, variant);
    const e0 = performance.now();
    ctx.emit({ type: 'experiment', stage: 'evaluate', variant, message: `evaluating ${variant} on the test sets` });
    const r = await evaluateVariant(ctx, v, v.model.gate !== null ? 'gate' : 'none');
    evaluation += (performance.now() - e0) / 1000;
    rows.push(rowOf(v, r));
    raws.push(r.raw);
    v.model.dispose();
  }
  // Chance baselines on the truths of the test sets (any evaluation holds all of them for its tasks).
  const tasks = [...new Set(raws.flatMap((r) => Object.keys(r.tasks)))];
  const merged: EvalResult['raw'] = {
    tasks: Object.fromEntries(tasks.map((t) => [t, raws.find((r) => (r.tasks[t]?.length ?? 0) > 0)?.tasks[t] ?? []])),
    gate: { scores: [], labels: [], positive: [], sources: [] },
  };
  const chance = chanceBaselines(merged, ctx.imageSize, ctx.config.seed);
  const comparison = compare(rows);
  const training = [...ctx.runSeconds.values()].reduce((a, b) => a + b, 0);
  const table: Omit<Table1, 'markdown'> = {
    title: 'Table 1: single-task baselines, BigBang MTL and MultiCheXNet',
    config: ctx.config,
    testImages: {
      nih: ctx.data.nih?.test.size ?? 0,
      rsna: ctx.data.rsna?.test.size ?? 0,
      siim: ctx.data.siim?.test.size ?? 0,
    },
    chance,
    rows,
    comparison,
    verdict: verdictOf(comparison),
    seconds: {
      generation: ctx.generationSeconds,
      training,
      evaluation,
      total: (performance.now() - t0) / 1000,
      cpu: cpuSeconds(cpu0),
    },
  };
  const result: Table1 = { ...table, markdown: markdownOf(table) };
  return publishTable(ctx.emit, ctx.config.out, 'table1', result, result.seconds.total, 'string');
}
