import { CHESTXRAY14_CLASSES, DataError } from '@multichexnet/core';
import { clsTask } from '@multichexnet/head-cls';
import {
  chooseThresholds,
  clsReport,
  fineTune,
  scoreClassifier,
  type ClsReport,
  type ClsScores,
  type FreezeMode,
} from '@multichexnet/transfer';
import { clsRecords, type ImageRecords } from '../series/records';
import type { TransferExperimentConfigInput } from './config';
import {
  withTransferContext,
  sourceModel,
  type SourceModel,
  type TransferContext,
  type TransferExperimentRuntime,
} from './context';
import { cell, markdownTable } from '../tables/markdown';
import { publishTable } from '../tables/table-files';

/**
 * The models Table 4 compares: the CheXNet baseline and MultiCheXNet as trained, and both after the same extra
 * NIH fine-tuning budget (so the fine-tuned MultiCheXNet is not compared with a baseline that got fewer steps).
 */
export const TABLE4_MODELS = ['chexnet', 'mtl', 'chexnet-finetuned', 'mtl-finetuned'] as const;
/** One of {@link TABLE4_MODELS}. */
export type Table4Model = (typeof TABLE4_MODELS)[number];

/** One column group of Table 4: a model's NIH test metrics. */
export interface Table4Row {
  model: Table4Model;
  label: string;
  /** Steps that trained it (source steps, plus fine-tuning). */
  steps: number | null;
  provenance: string;
  perClass: Record<string, { auroc: number; f1: number; f1Threshold: number; positives: number }>;
  meanAuroc: number;
  macroF1: number;
  /** Fine-tuning settings (the fine-tuned rows only). */
  fineTune: { freeze: FreezeMode; lrMultiplier: number; learningRate: number; steps: number; seconds: number } | null;
  /** NIH test labels and scores per image, for the paired intervals of a series. */
  records: ImageRecords;
}

/** Table 4 as written to `table4.json`. */
export interface Table4 {
  title: string;
  config: TransferContext['config'];
  classes: string[];
  testImages: number;
  rows: Table4Row[];
  /** Fine-tuned MultiCheXNet against the CheXNet baseline fine-tuned with the same budget. */
  comparison: {
    meanAuroc: number;
    macroF1: number;
    classesAurocBetter: number;
    classesF1Better: number;
    classes: number;
  };
  verdict: string;
  seconds: { generation: number; sources: number; fineTuning: number; evaluation: number; total: number };
  markdown: string;
}

/** Short column names of the Markdown table. */
const SHORT: Record<Table4Model, string> = {
  chexnet: 'CheXNet',
  mtl: 'MTL',
  'chexnet-finetuned': 'CheXNet + fine-tune',
  'mtl-finetuned': 'MTL + fine-tune',
};

const LABELS: Record<Table4Model, string> = {
  chexnet: 'CheXNet-multilabel (NIH only)',
  mtl: 'MultiCheXNet (MTL, before fine-tuning)',
  'chexnet-finetuned': 'CheXNet-multilabel, fine-tuned on NIH with the same extra budget',
  'mtl-finetuned': 'MultiCheXNet, cls path fine-tuned on NIH',
};

/** A report with the test scores it was computed from. */
type Scored = { report: ClsReport; scores: ClsScores };

function rowOf(
  model: Table4Model,
  r: Scored,
  source: SourceModel,
  extraSteps: number,
  fine: Table4Row['fineTune'],
): Table4Row {
  const perClass: Table4Row['perClass'] = {};
  for (const [c, m] of Object.entries(r.report.perClass))
    perClass[c] = { auroc: m.auroc, f1: m.f1, f1Threshold: m.f1Threshold, positives: m.positives };
  const records = {
    cls: clsRecords(r.scores, Object.fromEntries(Object.entries(perClass).map(([c, m]) => [c, m.f1Threshold]))),
  };
  return {
    model,
    label: LABELS[model],
    steps: source.steps === null ? null : source.steps + extraSteps,
    provenance: source.provenance,
    perClass,
    meanAuroc: r.report.meanAuroc,
    macroF1: r.report.macroF1,
    fineTune: fine,
    records,
  };
}

async function evaluateOn(ctx: TransferContext, source: SourceModel): Promise<Scored> {
  const nih = ctx.data.nih!;
  const opts = { imageSize: source.imageSize, preprocess: source.preprocess, cache: ctx.cache };
  const f1Thresholds = chooseThresholds(await scoreClassifier(source.model, nih.val, opts));
  const scores = await scoreClassifier(source.model, nih.test, opts);
  return { report: clsReport(scores, { f1Thresholds }), scores };
}

function markdownOf(t: Omit<Table4, 'markdown'>): string {
  const header = ['Class', ...t.rows.flatMap((r) => [`${SHORT[r.model]} F1`, `${SHORT[r.model]} AUROC`])];
  const body = t.classes.map((c) => [
    c,
    ...t.rows.flatMap((r) => [cell(r.perClass[c]?.f1), cell(r.perClass[c]?.auroc)]),
  ]);
  body.push(['**Mean**', ...t.rows.flatMap((r) => [`**${cell(r.macroF1)}**`, `**${cell(r.meanAuroc)}**`])]);
  const c = t.comparison;
  return [
    `# ${t.title}`,
    '',
    `NIH test split: ${t.testImages} images. F1 per class at the threshold chosen on the NIH validation split; means over the classes where the metric is defined.`,
    '',
    markdownTable(header, body),
    '',
    ...t.rows.map(
      (r) =>
        `- ${SHORT[r.model]}: ${r.label}; ${r.provenance}${r.steps === null ? '' : `, ${r.steps} steps`}${r.fineTune ? `; fine-tuned ${r.fineTune.steps} steps (${r.fineTune.freeze}, lr ${r.fineTune.learningRate}, multiplier ${r.fineTune.lrMultiplier}, ${r.fineTune.seconds.toFixed(0)} s)` : ''}`,
    ),
    '',
    `Fine-tuned MultiCheXNet − CheXNet fine-tuned with the same budget: mean AUROC ${c.meanAuroc >= 0 ? '+' : ''}${cell(c.meanAuroc)}, mean F1 ${c.macroF1 >= 0 ? '+' : ''}${cell(c.macroF1)}; better AUROC on ${c.classesAurocBetter} of ${c.classes} classes, better F1 on ${c.classesF1Better}.`,
    '',
    `**${t.verdict}**`,
    '',
    `Time: data ${t.seconds.generation.toFixed(0)} s, source models ${t.seconds.sources.toFixed(0)} s, fine-tuning ${t.seconds.fineTuning.toFixed(0)} s, evaluation ${t.seconds.evaluation.toFixed(0)} s, total ${t.seconds.total.toFixed(0)} s.`,
    '',
  ].join('\n');
}

/**
 * Table 4 of the paper: per-class F1 and AUROC on the NIH test split of the CheXNet-multilabel baseline (DenseNet
 * encoder, 14 sigmoids, NIH only), of MultiCheXNet after MTL, and of MultiCheXNet with its classification path
 * fine-tuned on NIH (the 14-class decoder kept), with the means. Writes `table4.json` and `table4.md`.
 *
 * @example
 * const t4 = await experimentTable4({ out: 'runs/transfer', reuse: 'runs/quickstart' });
 * t4.rows[2].meanAuroc - t4.rows[0].meanAuroc;
 */
export async function experimentTable4(
  config: TransferExperimentConfigInput,
  runtime: TransferExperimentRuntime = {},
): Promise<Table4> {
  return withTransferContext(config, runtime, async (ctx, t0) => {
    const cfg = ctx.config;
    const nft = cfg.nihFineTune;
    const nih = ctx.data.nih;
    if (nih === undefined) {
      throw new DataError('Table 4 needs the NIH dataset', {
        field: 'data.nih',
        expected: 'NIH train / val / test splits',
        found: 'none',
      });
    }
    const s0 = performance.now();
    const chexnet = await sourceModel(ctx, 'chexnet');
    const mtl = await sourceModel(ctx, 'mtl');
    const sourceSeconds = (performance.now() - s0) / 1000;
    const classes = [...(mtl.model.headOf(clsTask)?.config.classes ?? CHESTXRAY14_CLASSES)];
    const e0 = performance.now();
    const before: [Table4Model, Scored][] = [
      ['chexnet', await evaluateOn(ctx, chexnet)],
      ['mtl', await evaluateOn(ctx, mtl)],
    ];
    let evaluation = (performance.now() - e0) / 1000;
    let fineTuning = 0;
    const tuned = new Map<Table4Model, { scored: Scored; seconds: number }>();
    // Both models get the same extra NIH budget with the same settings.
    for (const [name, source] of [
      ['chexnet-finetuned', chexnet],
      ['mtl-finetuned', mtl],
    ] as const) {
      const f0 = performance.now();
      ctx.emit({
        type: 'experiment',
        stage: 'fine-tune',
        message: `fine-tuning the ${name === 'mtl-finetuned' ? 'MultiCheXNet' : 'CheXNet'} classification path on NIH (${nft.steps} steps, ${nft.freeze})`,
      });
      const r = await fineTune({
        from: source.model,
        data: { train: nih.train, val: nih.val, test: nih.test },
        classes,
        decoder: 'keep',
        freeze: nft.freeze,
        lrMultiplier: nft.lrMultiplier,
        steps: nft.steps,
        batchSize: nft.batchSize,
        optimizer: { type: 'adam', learningRate: nft.learningRate },
        imbalance: nft.imbalance,
        seed: cfg.seed,
        imageSize: source.imageSize,
        preprocess: source.preprocess,
        cache: ctx.cache,
        onEvent: (e) => ctx.emit({ ...e, run: `nih-fine-tune-${name}` }),
      });
      fineTuning += r.trainSeconds;
      evaluation += (performance.now() - f0) / 1000 - r.trainSeconds;
      tuned.set(name, { scored: { report: r.test!, scores: r.testScores! }, seconds: r.trainSeconds });
      r.model.dispose();
    }
    const fine = (name: Table4Model): Table4Row['fineTune'] => ({
      freeze: nft.freeze,
      lrMultiplier: nft.lrMultiplier,
      learningRate: nft.learningRate,
      steps: nft.steps,
      seconds: tuned.get(name)!.seconds,
    });
    const rows: Table4Row[] = [
      rowOf('chexnet', before[0]![1], chexnet, 0, null),
      rowOf('mtl', before[1]![1], mtl, 0, null),
      rowOf('chexnet-finetuned', tuned.get('chexnet-finetuned')!.scored, chexnet, nft.steps, fine('chexnet-finetuned')),
      rowOf('mtl-finetuned', tuned.get('mtl-finetuned')!.scored, mtl, nft.steps, fine('mtl-finetuned')),
    ];
    const base = rows[2]!;
    const mine = rows[3]!;
    const better = (k: 'auroc' | 'f1'): number =>
      classes.filter((c) => (mine.perClass[c]?.[k] ?? Number.NaN) > (base.perClass[c]?.[k] ?? Number.NaN)).length;
    const comparison = {
      meanAuroc: mine.meanAuroc - base.meanAuroc,
      macroF1: mine.macroF1 - base.macroF1,
      classesAurocBetter: better('auroc'),
      classesF1Better: better('f1'),
      classes: classes.length,
    };
    const verdict =
      comparison.meanAuroc > 0 && comparison.macroF1 > 0
        ? 'The fine-tuned MultiCheXNet classification path beat the equally fine-tuned CheXNet baseline on mean AUROC and mean F1.'
        : comparison.meanAuroc > 0
          ? 'The fine-tuned MultiCheXNet classification path beat the equally fine-tuned CheXNet baseline on mean AUROC but not on mean F1.'
          : comparison.macroF1 > 0
            ? 'The fine-tuned MultiCheXNet classification path beat the equally fine-tuned CheXNet baseline on mean F1 but not on mean AUROC.'
            : 'The fine-tuned MultiCheXNet classification path did not beat the equally fine-tuned CheXNet baseline on mean AUROC or mean F1.';
    const table: Omit<Table4, 'markdown'> = {
      title: 'Table 4: MultiCheXNet classification path fine-tuned on NIH vs CheXNet-multilabel',
      config: cfg,
      classes,
      testImages: tuned.get('mtl-finetuned')!.scored.report.images,
      rows,
      comparison,
      verdict,
      seconds: {
        generation: ctx.generationSeconds,
        sources: sourceSeconds,
        fineTuning,
        evaluation,
        total: (performance.now() - t0) / 1000,
      },
    };
    const result: Table4 = { ...table, markdown: markdownOf(table) };
    return publishTable(ctx.emit, cfg.out, 'table4', result, table.seconds.total, 'null');
  });
}
