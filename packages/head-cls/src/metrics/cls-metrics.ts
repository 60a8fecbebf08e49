import { macroAuroc } from './auroc';
import { f1Score } from './f1';

/** One image's classification record: labels [C] (NaN = not annotated) and probabilities [C], in class order. */
export interface ClsRecord {
  labels: Float32Array;
  scores: Float32Array;
}

/** Classification metrics of a set of images. */
export interface ClsMetrics {
  /** Mean of the defined per-class AUROCs (CheXNet's "average AUROC"). */
  meanAuroc: number;
  /** The thresholds of `macroF1`: one number for all classes, or per class. */
  f1Threshold: number | Record<string, number>;
  perClassAuroc: Record<string, number>;
  /** Macro F1 at `f1Threshold`. */
  macroF1: number;
  /** F1 by class at `f1Threshold`. */
  perClassF1: Record<string, number>;
  images: number;
}

/**
 * AUROC per class and its mean, and the macro F1 at per-class `thresholds` (a probability >= its threshold is
 * positive; default 0.5 for every class, `> 0.5` then as sklearn's F1 on scores).
 *
 * @example
 * clsMetrics(records, ['Pneumonia', 'Effusion'], { Pneumonia: 0.3, Effusion: 0.5 }).meanAuroc;
 */
export function clsMetrics(
  records: readonly ClsRecord[],
  classes: readonly string[],
  thresholds?: Readonly<Record<string, number>>,
): ClsMetrics {
  const labels = records.map((r) => r.labels);
  const scores = records.map((r) => r.scores);
  const m = macroAuroc(labels, scores, classes);
  const decided =
    thresholds === undefined
      ? scores
      : scores.map((row) => Float32Array.from(classes, (c, j) => (row[j]! >= (thresholds[c] ?? 0.5) ? 1 : 0)));
  const f1 = f1Score(labels, decided, { threshold: 0.5, classes });
  return {
    meanAuroc: m.mean,
    f1Threshold: thresholds === undefined ? 0.5 : { ...thresholds },
    perClassAuroc: m.perClass,
    macroF1: f1.macro,
    perClassF1: f1.perClass,
    images: records.length,
  };
}
