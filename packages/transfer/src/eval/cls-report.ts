import { auroc, f1Score, sensitivityAtSpecificity } from '@multichexnet/head-cls';
import { chooseF1Thresholds } from '@multichexnet/head-cls';
import type { ClsScores } from './score-classifier';

/** Metrics of one class. */
export interface ClassReport {
  /** AUROC (NaN when the set lacks positives or negatives). */
  auroc: number;
  /** F1 when predicting positive at score >= `f1Threshold`. */
  f1: number;
  f1Threshold: number;
  /** Best sensitivity with specificity >= the report's target, and where it is reached. */
  sensitivity: number;
  specificity: number;
  operatingThreshold: number;
  positives: number;
  negatives: number;
}

/** Classification metrics of a set. */
export interface ClsReport {
  classes: string[];
  perClass: Record<string, ClassReport>;
  /** Means over the classes where the metric is defined. */
  meanAuroc: number;
  macroF1: number;
  meanSensitivity: number;
  /** The specificity the sensitivity is read at. */
  specificityTarget: number;
  images: number;
}

function column(rows: readonly Float32Array[], c: number): Float32Array {
  return Float32Array.from(rows, (r) => r[c]!);
}

function meanDefined(v: number[]): number {
  const ok = v.filter((x) => Number.isFinite(x));
  return ok.length === 0 ? Number.NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
}

/**
 * Per-class AUROC, F1 (at a threshold per class, e.g. chosen on validation data with {@link chooseThresholds};
 * default 0.5) and sensitivity at a fixed specificity, with their means.
 *
 * @example
 * const r = clsReport(testScores, { specificity: 0.9, f1Thresholds: chooseThresholds(valScores) });
 * r.perClass['COVID-19'].auroc; r.perClass['COVID-19'].sensitivity;
 */
export function clsReport(
  scores: ClsScores,
  options: { specificity?: number; f1Thresholds?: Record<string, number> } = {},
): ClsReport {
  const target = options.specificity ?? 0.9;
  const perClass: Record<string, ClassReport> = {};
  scores.classes.forEach((name, c) => {
    const y = column(scores.labels, c);
    const s = column(scores.scores, c);
    const t = options.f1Thresholds?.[name] ?? 0.5;
    // f1Score predicts positive strictly above its threshold; the chosen thresholds are "score >= t" cuts.
    const decided = Array.from(s, (v) => Float32Array.of(v >= t ? 1 : 0));
    const f1 =
      scores.labels.length === 0
        ? Number.NaN
        : f1Score(
            Array.from(y, (v) => Float32Array.of(v)),
            decided,
            { threshold: 0.5 },
          ).macro;
    const op =
      scores.labels.length === 0
        ? { sensitivity: Number.NaN, specificity: Number.NaN, threshold: Number.NaN }
        : sensitivityAtSpecificity(y, s, target);
    let positives = 0;
    let negatives = 0;
    for (const v of y) {
      if (v === 1) positives++;
      else if (v === 0) negatives++;
    }
    perClass[name] = {
      auroc: scores.labels.length === 0 ? Number.NaN : auroc(y, s),
      f1,
      f1Threshold: t,
      sensitivity: op.sensitivity,
      specificity: op.specificity,
      operatingThreshold: op.threshold,
      positives,
      negatives,
    };
  });
  const all = Object.values(perClass);
  return {
    classes: [...scores.classes],
    perClass,
    meanAuroc: meanDefined(all.map((r) => r.auroc)),
    macroF1: meanDefined(all.map((r) => r.f1)),
    meanSensitivity: meanDefined(all.map((r) => r.sensitivity)),
    specificityTarget: target,
    images: scores.labels.length,
  };
}

/**
 * Per-class decision thresholds that maximise F1 on a (validation) set: the trainer's `chooseF1Thresholds` on
 * these scores (0.5 for a class without positives).
 */
export function chooseThresholds(scores: ClsScores): Record<string, number> {
  return chooseF1Thresholds(scores.labels, scores.scores, scores.classes);
}
