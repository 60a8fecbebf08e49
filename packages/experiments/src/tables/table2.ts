import type { ExperimentConfigInput, Variant } from './experiment-config';
import { cell, markdownTable } from './markdown';
import { cpuSeconds } from './table1';
import {
  evaluateVariant,
  prepareExperiment,
  trainVariant,
  type ExperimentContext,
  type ExperimentRuntime,
} from './run-variants';
import type { Gating } from '@multichexnet/model';
import { detTask } from '@multichexnet/head-det';
import { segTask } from '@multichexnet/head-seg';
import { taskMetrics } from '@multichexnet/trainer';
import { publishTable } from './table-files';

/** The gated variants Table 2 examines. */
const GATED: Variant[] = ['bigbang', 'multichexnet-joint', 'multichexnet-alternating'];

/** One row of Table 2: a model under one gating. */
export interface Table2Row {
  variant: Variant;
  gating: Gating;
  det?: { mAP: number; ap50: number; images: number };
  seg?: { dice: number; images: number };
  gate?: {
    threshold: number;
    sensitivity: number;
    specificity: number;
    falsePositives: number;
    falseNegatives: number;
    count: number;
    auroc: number;
    /** Per test set: what det (RSNA) and seg (SIIM) each lose and gain. */
    bySource: Partial<Record<'nih' | 'rsna' | 'siim', { sensitivity: number; specificity: number; count: number }>>;
  };
}

/** Table 2 as written to `table2.json`. */
export interface Table2 {
  title: string;
  config: ExperimentContext['config'];
  rows: Table2Row[];
  /** Wall-clock seconds of this call, and the CPU seconds of the process during it. */
  seconds: { training: number; evaluation: number; total: number; cpu: number };
  markdown: string;
}

const GATING_LABEL: Record<Gating, string> = {
  gate: 'trained gate (its false positives reach det/seg, its false negatives get nothing)',
  truth: 'ground-truth gating (only truly positive images)',
  none: 'no gating (every image)',
};

/**
 * Table 2: det / seg test metrics of each gated model with the trained gate (its false positives let through to
 * the heads, its false negatives predicted empty) against ground-truth gating and no gating, with the gate's
 * sensitivity and specificity at the threshold chosen on validation data. Writes `table2.json` and `table2.md`.
 *
 * @example
 * const t2 = await experimentTable2({ out: 'runs/table1', size: 'tiny' });   // reuses the models of Table 1
 */
export async function experimentTable2(
  config: ExperimentConfigInput,
  runtime: ExperimentRuntime = {},
): Promise<Table2> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const ctx = await prepareExperiment(config, runtime);
  const rows: Table2Row[] = [];
  let evaluation = 0;
  for (const variant of GATED.filter((v) => ctx.config.variants.includes(v))) {
    const v = await trainVariant(ctx, variant);
    const e0 = performance.now();
    ctx.emit({
      type: 'experiment',
      stage: 'evaluate',
      variant,
      message: `evaluating ${variant} with gate, ground-truth and no gating`,
    });
    for (const gating of ['gate', 'truth', 'none'] as const) {
      const r = await evaluateVariant(ctx, v, gating);
      const row: Table2Row = { variant, gating };
      const det = taskMetrics(r, detTask);
      const seg = taskMetrics(r, segTask);
      if (det) row.det = { mAP: det.mAP, ap50: det.ap50, images: det.images };
      if (seg) row.seg = { dice: seg.dice, images: seg.images };
      if (r.gate && gating === 'gate') {
        row.gate = {
          threshold: r.gate.threshold,
          sensitivity: r.gate.sensitivity,
          specificity: r.gate.specificity,
          falsePositives: r.gate.falsePositives,
          falseNegatives: r.gate.falseNegatives,
          count: r.gate.count,
          auroc: r.gate.auroc,
          bySource: r.gate.bySource,
        };
      }
      rows.push(row);
    }
    evaluation += (performance.now() - e0) / 1000;
    v.model.dispose();
  }
  const training = [...ctx.runSeconds.values()].reduce((a, b) => a + b, 0);
  const header = [
    'Model',
    'Gating',
    'det mAP (RSNA)',
    'det AP@0.5',
    'seg Dice (SIIM)',
    'gate sensitivity',
    'gate specificity',
    'gate sens / spec RSNA',
    'gate sens / spec SIIM',
    'gate FP / FN',
    'gate threshold',
  ];
  const body = rows.map((r) => [
    r.variant,
    r.gating,
    cell(r.det?.mAP),
    cell(r.det?.ap50),
    cell(r.seg?.dice),
    cell(r.gate?.sensitivity),
    cell(r.gate?.specificity),
    r.gate?.bySource.rsna
      ? `${cell(r.gate.bySource.rsna.sensitivity)} / ${cell(r.gate.bySource.rsna.specificity)}`
      : '–',
    r.gate?.bySource.siim
      ? `${cell(r.gate.bySource.siim.sensitivity)} / ${cell(r.gate.bySource.siim.specificity)}`
      : '–',
    r.gate ? `${r.gate.falsePositives} / ${r.gate.falseNegatives}` : '–',
    cell(r.gate?.threshold),
  ]);
  const seconds = { training, evaluation, total: (performance.now() - t0) / 1000, cpu: cpuSeconds(cpu0) };
  const markdown = [
    '# Table 2: the gate in the pipeline',
    '',
    markdownTable(header, body),
    '',
    ...(['gate', 'truth', 'none'] as const).map((g) => `- \`${g}\`: ${GATING_LABEL[g]}`),
    '',
    "Gate sensitivity / specificity are measured on the RSNA + SIIM test images (positive = Pneumonia or Pneumothorax) at the threshold chosen on validation data for the plan's target sensitivity.",
    '',
    `Time (wall clock): training ${seconds.training.toFixed(0)} s (the models' own training time; models found on disk are not trained again), evaluation ${seconds.evaluation.toFixed(0)} s, total ${seconds.total.toFixed(0)} s; CPU time of the process ${seconds.cpu.toFixed(0)} s.`,
    '',
  ].join('\n');
  const result: Table2 = {
    title: 'Table 2: det / seg with the trained gate vs ground-truth gating',
    config: ctx.config,
    rows,
    seconds,
    markdown,
  };
  return publishTable(ctx.emit, ctx.config.out, 'table2', result, seconds.total, 'string');
}
