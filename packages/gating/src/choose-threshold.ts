import { DataError } from '@multichexnet/core';
import { gateMetrics, type GateMetrics } from './metrics/gate-metrics';

/** Options of {@link chooseThreshold}. */
export interface ChooseThresholdOptions {
  /** Smallest share of positives the gate must let through, in (0, 1]. */
  targetSensitivity: number;
}

/** The chosen operating point and what it gives on the data it was chosen on. */
export interface ThresholdChoice extends GateMetrics {
  /** Score at or above which an image is positive. */
  threshold: number;
}

/**
 * The largest threshold whose sensitivity on validation data reaches `targetSensitivity` (so the gate stops as many
 * negatives as it can while letting that share of positives through), with the specificity and counts it gives.
 * A sample is positive when `score >= threshold`; labels are 0/1 with NaN skipped.
 *
 * The threshold is the k-th largest positive score, k = ceil(target x positives): any larger threshold keeps fewer
 * than k positives.
 *
 * @example
 * chooseThreshold([0.9, 0.8, 0.3, 0.6, 0.1], [1, 1, 1, 0, 0], { targetSensitivity: 0.66 });
 * // { threshold: 0.8, sensitivity: 0.667, specificity: 1, ... }
 */
export function chooseThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: ChooseThresholdOptions,
): ThresholdChoice {
  const target = options.targetSensitivity;
  if (!(target > 0 && target <= 1)) {
    throw new DataError('targetSensitivity must be in (0, 1]', {
      field: 'targetSensitivity',
      expected: '0 < target <= 1',
      found: String(target),
    });
  }
  if (scores.length !== labels.length) {
    throw new DataError('chooseThreshold: scores and labels differ in length', {
      field: 'labels',
      expected: `${scores.length} labels`,
      found: `${labels.length}`,
    });
  }
  const positives: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    const y = labels[i]!;
    if (Number.isNaN(y)) continue;
    if (!Number.isFinite(s))
      throw new DataError('Gate score is not finite', {
        row: i + 1,
        field: 'scores',
        expected: 'a finite number',
        found: String(s),
      });
    if (y === 1) positives.push(s);
  }
  if (positives.length === 0) {
    throw new DataError('chooseThreshold needs at least one positive sample', {
      field: 'labels',
      expected: 'some labels equal to 1',
      found: 'none',
    });
  }
  positives.sort((a, b) => b - a);
  // The float product can land a hair above an integer (0.7 * 10 = 7.000000000000001): round that away first.
  const k = Math.max(1, Math.ceil(target * positives.length - 1e-9));
  const threshold = positives[k - 1]!;
  const decisions = Array.from({ length: scores.length }, (_, i) => scores[i]! >= threshold);
  return { threshold, ...gateMetrics(decisions, labels) };
}
