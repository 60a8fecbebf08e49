import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@multichexnet/core';
import { clsTask, rocCurve } from '@multichexnet/head-cls';
import { fineTune, type FineTuneResult, type FreezeMode, type ImbalanceMode } from '@multichexnet/transfer';
import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import { createFineTuneProgress } from '../io/train-progress';
import { thinCurve } from '../report/charts';
import { RUN_FILES, writeReport } from '../report/load-run';
import type { RunCalibration, TestEvaluation } from '../report/report-data';
import { exportRunModel, type ExportedFiles } from '../run/export-model';
import { nanAsString, startBackend, writeRunCalibration } from '../run/run-folder';
import { routeLibraryLogs } from './prepare';
import { calibrationText } from './train';
import { interruptible } from '../run/interrupt';

/** Options of `multichexnet transfer`. */
export interface TransferOptions {
  from: string;
  covid: string;
  classes: string;
  freeze?: string;
  lrMultiplier?: number;
  imbalance?: string;
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  seed: number;
  run?: string;
  runs: string;
  backend: string;
  export: boolean;
  report: boolean;
  /** `--resume`: continue the fine-tuning in --run from its newest checkpoint. */
  resume?: boolean;
}

/**
 * The test split of a fine-tuning run in the report's format: the transfer package's per-class metrics and the ROC
 * curves of its raw test scores.
 */
export function transferEvaluation(r: FineTuneResult): TestEvaluation | null {
  if (r.test === null || r.testScores === null) return null;
  const s = r.testScores;
  const roc = s.classes.map((name, c) => {
    const y: number[] = [];
    const p: number[] = [];
    s.labels.forEach((row, i) => {
      if (!Number.isNaN(row[c]!)) {
        y.push(row[c]!);
        p.push(s.scores[i]![c]!);
      }
    });
    const positives = y.filter((v) => v === 1).length;
    const negatives = y.length - positives;
    const points =
      positives > 0 && negatives > 0 ? thinCurve(rocCurve(y, p).map((q) => ({ fpr: q.fpr, tpr: q.tpr }))) : [];
    return { name, auroc: r.test!.perClass[name]!.auroc, positives, negatives, points };
  });
  const perClassAuroc = Object.fromEntries(s.classes.map((c) => [c, r.test!.perClass[c]!.auroc]));
  return {
    format: 'multichexnet-eval',
    split: 'test',
    gating: 'cls only',
    metrics: { cls: { meanAuroc: r.test.meanAuroc, perClassAuroc, macroF1: r.test.macroF1, images: r.test.images } },
    curves: { roc },
  };
}

/**
 * The decision settings a fine-tuning run chose on its validation split: the per-class F1 thresholds `fineTune`
 * picks there (the trainer's rule, chooseF1Thresholds); null without validation images, where they are only 0.5.
 * Only cls is calibrated: the COVID-19 collection has no boxes or masks, and the source run's det / seg settings were
 * chosen for an encoder that fine-tuning may have changed, so the det / seg heads keep their own decode settings.
 */
export function transferCalibration(r: Pick<FineTuneResult, 'validation' | 'f1Thresholds'>): RunCalibration | null {
  if (r.validation === null) return null;
  return { chosenOn: 'val', gating: 'cls only', tasks: { [clsTask.name]: { thresholds: { ...r.f1Thresholds } } } };
}

/** The `transfer` verb: fine-tune a trained model to new classes, export it with the settings chosen on val, report. */
export async function transferAction(ctx: CommandContext, o: TransferOptions): Promise<void> {
  routeLibraryLogs(ctx);
  const from = ctx.path(o.from);
  const covid = ctx.path(o.covid);
  if (!existsSync(from)) throw new UsageError(`no such model or run folder: ${from}`);
  if (!existsSync(covid))
    throw new UsageError(
      `no such COVID-19 collection folder: ${covid} (write one with "multichexnet synth --out data")`,
    );
  const classes = o.classes
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const runDir = ctx.path(o.run ?? join(o.runs, `transfer-${classes.join('-').toLowerCase()}`));
  await startBackend(ctx, o.backend);
  const result = await interruptible(ctx, (signal) =>
    fineTune({
      from,
      data: covid,
      classes,
      seed: o.seed,
      runDir,
      resume: o.resume === true,
      signal,
      onEvent: createFineTuneProgress(ctx.reporter),
      ...(o.freeze !== undefined ? { freeze: o.freeze as FreezeMode } : {}),
      ...(o.lrMultiplier !== undefined ? { lrMultiplier: o.lrMultiplier } : {}),
      ...(o.imbalance !== undefined ? { imbalance: o.imbalance as ImbalanceMode } : {}),
      ...(o.steps !== undefined ? { steps: o.steps } : {}),
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
      ...(o.learningRate !== undefined ? { optimizer: { type: 'adam', learningRate: o.learningRate } } : {}),
    }),
  );
  if (result.status === 'aborted') {
    result.model.dispose();
    throw new Error(
      `fine-tuning interrupted at step ${result.history.at(-1)?.step ?? 0}; continue with the same command and --resume`,
    );
  }
  let exported: ExportedFiles | null = null;
  let report: string | null = null;
  const calibration = transferCalibration(result);
  try {
    const evaluation = transferEvaluation(result);
    // The test F1 of transfer.json was counted at these thresholds; the exported files record the same ones.
    if (evaluation !== null) evaluation.calibration = calibration;
    if (evaluation !== null)
      await writeFileAtomic(join(runDir, RUN_FILES.test), `${JSON.stringify(evaluation, nanAsString, 2)}\n`);
    await writeRunCalibration(runDir, calibration);
    if (o.export)
      exported = await exportRunModel(
        result.model,
        {
          name: `transfer-${classes.join('-')}`,
          imageSize: result.imageSize,
          ...(result.config.preprocess ? { preprocess: result.config.preprocess } : {}),
        },
        runDir,
        ctx.reporter,
        calibration,
      );
    if (o.report) report = (await writeReport(runDir)).path;
  } finally {
    result.model.dispose();
  }
  const t = result.test;
  ctx.emit(
    {
      run: runDir,
      classes,
      freeze: result.config.freeze,
      steps: result.config.steps,
      test: t,
      validation: result.validation,
      gateThreshold: result.gateThreshold,
      imbalance: result.imbalance,
      calibration,
      model: exported,
      report,
      seconds: result.seconds,
    },
    [
      `fine-tuned ${classes.join(', ')} from ${from} (${result.config.freeze}, ${result.config.steps} steps) in ${result.seconds.toFixed(0)} s -> ${runDir}`,
      ...(t === null
        ? ['  no test split']
        : classes.map((c) => {
            const m = t.perClass[c]!;
            const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
            return `  ${c}: test AUROC ${f(m.auroc)}, F1 ${f(m.f1)}, sensitivity ${f(m.sensitivity)} at specificity >= ${t.specificityTarget} (${m.positives} positive of ${m.positives + m.negatives})`;
          })),
      calibration
        ? `  decision settings chosen on val: ${calibrationText(calibration)}`
        : '  decision settings: defaults (no validation images)',
      ...(exported ? [`model: ${exported.model}`] : []),
      ...(report ? [`report: ${report}`] : []),
    ],
  );
}
