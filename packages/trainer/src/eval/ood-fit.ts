import { DataError, FEATURE_LEVELS, tf, type EncoderFeatures, type FeatureLevel } from '@multichexnet/core';
import type { OodStatistics } from '@multichexnet/core';
import { SVD, Matrix } from 'ml-matrix';

/*
 * "Is this a frontal chest X-ray?" as a density question on the encoder's pooled features: a probabilistic PCA
 * (Tipping & Bishop 1999) Gaussian fitted on the training films, and an image's Mahalanobis distance under it. The
 * covariance is U diag(lambda) U^T in the k leading principal directions and sigma^2 (the mean variance left over)
 * in every other direction, so it is invertible with far fewer films than feature dimensions, and the score has two
 * parts: how unusual the image is along the directions chest films vary in, and how far it lies off them (the part
 * a hand, a page of text or a lateral view is strongest in). Mahalanobis scores on pooled features are the usual
 * baseline of OOD detection for pretrained classifiers (Lee et al. 2018).
 */

/** The feature levels pooled by default: the last two encoder stages (chosen by `npm run ood:measure`, see the README). */
export const DEFAULT_OOD_LEVELS: readonly FeatureLevel[] = ['c4', 'c5'];

/** Options of {@link fitOodStatistics}. */
export interface FitOodOptions {
  /**
   * Principal components kept (default min(32, count / 10): the trailing components of few films are estimated
   * badly and make held-out films look unusual; at most count - 1 and D - 1).
   */
  components?: number;
}

/**
 * Image features [B, D]: each of `levels` globally average-pooled ([B, C_l]) and concatenated, D = sum C_l. The
 * exported graph computes exactly these (GlobalAveragePool + Concat) before its `ood_score`.
 *
 * @example
 * const pooled = pooledFeatures(model.encoder.apply(images), ['c4', 'c5']);   // [B, C4 + C5]
 */
export function pooledFeatures(features: EncoderFeatures<tf.Tensor4D>, levels: readonly FeatureLevel[]): tf.Tensor2D {
  return tf.tidy(() => {
    const parts = levels.map((l) => tf.mean(features[l], [1, 2]) as tf.Tensor2D);
    return parts.length === 1 ? parts[0]! : (tf.concat(parts, 1) as tf.Tensor2D);
  });
}

/** Checks a level list: non-empty, known levels, no repeats. */
export function checkLevels(levels: readonly string[]): FeatureLevel[] {
  const bad = levels.filter((l) => !(FEATURE_LEVELS as readonly string[]).includes(l));
  if (levels.length === 0 || bad.length > 0 || new Set(levels).size !== levels.length) {
    throw new DataError('OOD feature levels are invalid', {
      field: 'levels',
      expected: `distinct levels among ${FEATURE_LEVELS.join(', ')}`,
      found: levels.join(', ') || '(none)',
    });
  }
  return [...levels] as FeatureLevel[];
}

/**
 * Fits the probabilistic-PCA Gaussian of feature rows (one Float32Array of D values per training film). The
 * principal directions come from the SVD of the centred rows (ml-matrix), so D may exceed the number of films.
 *
 * @example
 * const stats = fitOodStatistics(trainRows, ['c4', 'c5'], { components: 32 });
 * oodScore(rowOfAHand, stats) > oodScore(rowOfAChestFilm, stats);
 */
export function fitOodStatistics(
  rows: readonly Float32Array[],
  levels: readonly FeatureLevel[],
  options: FitOodOptions = {},
): OodStatistics {
  const N = rows.length;
  if (N < 3)
    throw new DataError('Too few films to fit the OOD statistics', {
      field: 'films',
      expected: 'at least 3 training films',
      found: String(N),
    });
  const D = rows[0]!.length;
  rows.forEach((r, i) => {
    if (r.length !== D)
      throw new DataError('Feature rows differ in length', {
        field: `rows[${i}]`,
        expected: `${D} values`,
        found: `${r.length}`,
      });
    const bad = r.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new DataError('Feature row holds a non-finite value', {
        field: `rows[${i}][${bad}]`,
        expected: 'finite values',
        found: String(r[bad]),
      });
  });
  const mean = new Float64Array(D);
  for (const r of rows) for (let j = 0; j < D; j++) mean[j]! += r[j]!;
  for (let j = 0; j < D; j++) mean[j]! /= N;
  const X = new Matrix(N, D);
  let total = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      const c = rows[i]![j]! - mean[j]!;
      X.set(i, j, c);
      total += c * c;
    }
  }
  total /= N - 1;
  const k = Math.max(1, Math.min(options.components ?? Math.min(32, Math.floor(N / 10)), N - 1, D - 1));
  const svd = new SVD(X, { computeLeftSingularVectors: false, computeRightSingularVectors: true, autoTranspose: true });
  const s = svd.diagonal;
  const V = svd.rightSingularVectors;
  const lambdas = Array.from({ length: k }, (_, i) => (s[i] ?? 0) ** 2 / (N - 1));
  const kept = lambdas.reduce((a, b) => a + b, 0);
  // What the k directions leave, spread over the D - k others; floored so that features which never vary in
  // training (a dead channel) still give a finite score that grows with any deviation.
  const floor = Math.max(1e-12, (1e-6 * total) / D);
  const residualVariance = Math.max(floor, (total - kept) / (D - k));
  return {
    levels: [...levels],
    mean: Array.from(mean),
    components: Array.from({ length: k }, (_, c) => Array.from({ length: D }, (_, j) => V.get(j, c))),
    variances: lambdas.map((l) => Math.max(l, residualVariance)),
    residualVariance,
    count: N,
  };
}

/**
 * The OOD score of one feature row: its squared Mahalanobis distance under the fitted Gaussian divided by D
 * (about 1 for a typical training film, larger the less the image looks like one):
 * (sum_i z_i^2 / lambda_i + |r|^2 / sigma^2) / D, with z = U^T (x - mean) and r = (x - mean) - U z.
 *
 * @example
 * const score = oodScore(row, stats);   // compare with the threshold chosen on validation
 */
export function oodScore(row: ArrayLike<number>, stats: OodStatistics): number {
  const D = stats.mean.length;
  if (row.length !== D)
    throw new DataError('Feature row does not fit the OOD statistics', {
      field: 'row',
      expected: `${D} values`,
      found: `${row.length}`,
    });
  const c = Float64Array.from({ length: D }, (_, j) => row[j]! - stats.mean[j]!);
  const r = Float64Array.from(c);
  let score = 0;
  stats.components.forEach((u, i) => {
    let z = 0;
    for (let j = 0; j < D; j++) z += u[j]! * c[j]!;
    score += (z * z) / stats.variances[i]!;
    for (let j = 0; j < D; j++) r[j]! -= z * u[j]!;
  });
  let rr = 0;
  for (let j = 0; j < D; j++) rr += r[j]! * r[j]!;
  return (score + rr / stats.residualVariance) / D;
}

/**
 * The refusal threshold for a target false-refusal rate alpha on in-distribution films, from validation scores: the
 * ceil((n + 1)(1 - alpha))-th smallest of the n scores (the split-conformal quantile: a new film from the same
 * distribution exceeds it with probability at most alpha). With too few films for that rank (n < 1/alpha - 1),
 * the largest score, and `guaranteed` is false.
 *
 * @example
 * const { threshold } = oodThreshold(valScores, 0.02);
 */
export function oodThreshold(
  scores: readonly number[],
  targetFalseRefusal: number,
): { threshold: number; guaranteed: boolean } {
  if (!(targetFalseRefusal > 0 && targetFalseRefusal < 1))
    throw new DataError('Target false-refusal rate must be in (0, 1)', {
      field: 'targetFalseRefusal',
      expected: 'a rate in (0, 1)',
      found: String(targetFalseRefusal),
    });
  const finite = scores.filter((s) => Number.isFinite(s)).sort((a, b) => a - b);
  if (finite.length === 0)
    throw new DataError('No validation scores to choose the OOD threshold on', {
      field: 'scores',
      expected: 'at least one validation film',
      found: 'none',
    });
  const n = finite.length;
  const rank = Math.ceil((n + 1) * (1 - targetFalseRefusal));
  return rank <= n
    ? { threshold: finite[rank - 1]!, guaranteed: true }
    : { threshold: finite[n - 1]!, guaranteed: false };
}

/**
 * Out-of-fold scores of the fitting rows: each row scored by statistics fitted without its fold (row i in fold
 * i mod `folds`). They behave like held-out films, so they can stand in for validation films where too few exist.
 *
 * @example
 * const extra = outOfFoldScores(trainRows, ['c4', 'c5'], 5);
 */
export function outOfFoldScores(
  rows: readonly Float32Array[],
  levels: readonly FeatureLevel[],
  folds = 5,
  options: FitOodOptions = {},
): number[] {
  const out = new Array<number>(rows.length);
  for (let f = 0; f < folds; f++) {
    const fit = rows.filter((_, i) => i % folds !== f);
    if (fit.length < 3) continue;
    const stats = fitOodStatistics(fit, levels, options);
    rows.forEach((r, i) => {
      if (i % folds === f) out[i] = oodScore(r, stats);
    });
  }
  return out.filter((v) => v !== undefined);
}

/** Whether n scores are enough for the split-conformal quantile at rate alpha (n >= 1 / alpha - 1). */
export function enoughForRate(n: number, targetFalseRefusal: number): boolean {
  return Math.ceil((n + 1) * (1 - targetFalseRefusal)) <= n;
}
