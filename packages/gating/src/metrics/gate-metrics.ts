import { DataError, aurocOf, rocCounts, rocPointsOf, type GateDecision, type RocPoint } from '@multichexnet/core';

/** Confusion counts of a gate and the two rates that matter for it. */
export interface GateMetrics {
  /** TP / (TP + FN): share of positive images the gate lets through (NaN without positives). */
  sensitivity: number;
  /** TN / (TN + FP): share of negative images the gate stops (NaN without negatives). */
  specificity: number;
  truePositives: number;
  /** Negatives let through: they reach the det/seg heads. */
  falsePositives: number;
  trueNegatives: number;
  /** Positives stopped: their boxes / masks are never predicted. */
  falseNegatives: number;
  /** Images with a known label (NaN labels are skipped). */
  count: number;
}

/**
 * Sensitivity, specificity and the confusion counts of gate decisions against labels [N] of 0/1 (NaN = unknown,
 * skipped).
 *
 * @example
 * gateMetrics([true, false, true], [1, 0, 0]);   // { sensitivity: 1, specificity: 0.5, falsePositives: 1, ... }
 */
export function gateMetrics(decisions: readonly (boolean | GateDecision)[], labels: ArrayLike<number>): GateMetrics {
  if (decisions.length !== labels.length) {
    throw new DataError('gateMetrics: decisions and labels differ in length', {
      field: 'labels',
      expected: `${decisions.length} labels`,
      found: `${labels.length}`,
    });
  }
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (Number.isNaN(y)) continue;
    if (y !== 0 && y !== 1)
      throw new DataError('Gate label must be 0, 1 or NaN', {
        row: i + 1,
        field: 'labels',
        expected: '0, 1 or NaN',
        found: String(y),
      });
    const d = decisions[i]!;
    const positive = typeof d === 'boolean' ? d : d.positive;
    if (y === 1) positive ? tp++ : fn++;
    else positive ? fp++ : tn++;
  }
  return {
    sensitivity: tp + fn === 0 ? Number.NaN : tp / (tp + fn),
    specificity: tn + fp === 0 ? Number.NaN : tn / (tn + fp),
    truePositives: tp,
    falsePositives: fp,
    trueNegatives: tn,
    falseNegatives: fn,
    count: tp + fp + tn + fn,
  };
}

/** The gate's ROC: every operating point its threshold can take, and the area under them. */
export interface GateRoc {
  /**
   * One point per distinct score, from (0, 0) at threshold +Infinity to (1, 1): the gate with that threshold
   * (positive when probability >= threshold, as `Gate.decide`) has these false- and true-positive rates.
   */
  points: RocPoint[];
  /** Area under `points` (the Mann-Whitney probability, ties 1/2); NaN without positives or negatives. */
  auroc: number;
  /** Images with label 1 / 0 (NaN labels are skipped). */
  positives: number;
  negatives: number;
}

/**
 * ROC curve and AUROC of gate probabilities scores [N] against labels [N] of 0/1 (NaN = unknown, skipped): what
 * every threshold would give, where {@link gateMetrics} scores one. Core's binary ROC, the same as CheXCls's
 * per-class curves; it equals sklearn's `roc_curve(drop_intermediate=False)` and `roc_auc_score`.
 *
 * @example
 * gateRoc([0.9, 0.2, 0.6, 0.4], [1, 0, 0, 1]);   // { auroc: 0.75, points: [{ threshold: Infinity, fpr: 0, tpr: 0 }, ...], positives: 2, negatives: 2 }
 */
export function gateRoc(scores: ArrayLike<number>, labels: ArrayLike<number>): GateRoc {
  const c = rocCounts(labels, scores, 'gateRoc');
  return {
    points: rocPointsOf(c),
    auroc: aurocOf(c),
    positives: c.positives,
    negatives: c.negatives,
  };
}
