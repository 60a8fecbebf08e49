import { DataError, createRng, type Rng } from '@multichexnet/core';

/**
 * Paired bootstrap confidence intervals for "model A minus baseline B" on one test set, and over several seeds.
 *
 * Self-contained (core only): the statistics of the paper's tables, to move with the experiment code.
 */

/**
 * A metric of a set of per-image results (one entry per test image): the mean of a per-image score, or a metric of
 * the whole set such as AUROC (`auroc(labels, scores)` of the entries), RSNA mAP (`rsnaMeanAP`) or Dice
 * (`siimMeanDice`). NaN where the metric is undefined on a set (AUROC of a resample without positives).
 */
export type SetMetric<T> = (items: readonly T[]) => number;

/**
 * The verdict on A - B: `better` when the whole interval lies on the good side of 0, `worse` when it lies on the
 * bad side, otherwise `no difference at <confidence>%` (0 inside the interval, or on its edge).
 */
export type Verdict = 'better' | 'worse' | `no difference at ${number}%`;

/** Options of {@link pairedBootstrap} and {@link pairedBootstrapOverSeeds}. */
export interface BootstrapOptions {
  /** Seed of the resampling (core's seeded RNG): the same seed gives the same interval. */
  seed: number | string;
  /** Number of bootstrap resamples. Default 2000. */
  resamples?: number;
  /** Two-sided confidence level of the percentile interval. Default 0.95. */
  confidence?: number;
  /**
   * Direction of the metric. Default true: every metric of the tables (AUROC, F1, RSNA mAP, VOC AP, Dice, gate
   * sensitivity / specificity) is higher-is-better, so a positive difference favours A. False for losses.
   */
  higherIsBetter?: boolean;
}

/** A bootstrap interval of a difference A - B, and what it says. */
export interface DifferenceInterval {
  /** metric(A) - metric(B) on the test set as observed (over seeds: the mean of the per-seed differences). */
  difference: number;
  /** Percentile interval of the resampled differences. */
  low: number;
  high: number;
  confidence: number;
  /** Resamples drawn. */
  resamples: number;
  /** Resamples whose metric was undefined (NaN) for A or B; left out of the percentiles. */
  undefinedResamples: number;
  higherIsBetter: boolean;
  verdict: Verdict;
}

/** The paired results of one seed: `a[i]` and `b[i]` are model A's and baseline B's results on the same image i. */
export interface PairedRun<T> {
  a: readonly T[];
  b: readonly T[];
}

interface Settings {
  resamples: number;
  confidence: number;
  higherIsBetter: boolean;
}

function settingsOf(options: BootstrapOptions): Settings {
  const resamples = options.resamples ?? 2000;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new DataError('Bootstrap resamples must be a positive integer', {
      field: 'resamples',
      expected: 'an integer >= 1',
      found: String(resamples),
    });
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new DataError('Bootstrap confidence must lie strictly between 0 and 1', {
      field: 'confidence',
      expected: 'a number in (0, 1), e.g. 0.95',
      found: String(confidence),
    });
  }
  return { resamples, confidence, higherIsBetter: options.higherIsBetter ?? true };
}

function checkRun<T>(run: PairedRun<T>, where: string): void {
  if (run.a.length !== run.b.length) {
    throw new DataError(
      'Paired results differ in length: A and B must hold one result per test image, in the same order',
      {
        field: where,
        expected: `${run.a.length} results of B (as many as of A)`,
        found: `${run.b.length}`,
      },
    );
  }
  if (run.a.length === 0)
    throw new DataError('No paired results to resample', {
      field: where,
      expected: 'at least one test image',
      found: 'none',
    });
}

/** Indices 0..n-1 drawn with replacement. */
function drawIndices(rng: Rng, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = rng.int(0, n);
  return idx;
}

/** metric(A) - metric(B) on the images `idx` (all images when idx is null): the pairs move together. */
function differenceOn<T>(run: PairedRun<T>, metric: SetMetric<T>, idx: Uint32Array | null): number {
  if (idx === null) return metric(run.a) - metric(run.b);
  const a = Array.from(idx, (i) => run.a[i]!);
  const b = Array.from(idx, (i) => run.b[i]!);
  return metric(a) - metric(b);
}

/**
 * The q-quantile of ascending values with linear interpolation between order statistics (numpy's default
 * `percentile`, Hyndman and Fan type 7), as scipy's percentile bootstrap reads its resamples.
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** The verdict of an interval of A - B (see {@link Verdict}). */
export function verdictOf(low: number, high: number, confidence: number, higherIsBetter = true): Verdict {
  const aboveZero = low > 0;
  const belowZero = high < 0;
  if (higherIsBetter ? aboveZero : belowZero) return 'better';
  if (higherIsBetter ? belowZero : aboveZero) return 'worse';
  return `no difference at ${Math.round(confidence * 1000) / 10}%`;
}

function interval(observed: number, draws: number[], undefinedCount: number, s: Settings): DifferenceInterval {
  if (Number.isNaN(observed)) {
    throw new DataError('The metric is undefined on the full test set', {
      field: 'metric',
      expected: 'a number for A and for B',
      found: 'NaN',
    });
  }
  if (draws.length === 0) {
    throw new DataError('The metric is undefined on every bootstrap resample', {
      field: 'metric',
      expected: 'a number on at least one resample',
      found: `NaN on all ${s.resamples}`,
    });
  }
  draws.sort((x, y) => x - y);
  const alpha = (1 - s.confidence) / 2;
  const low = quantileSorted(draws, alpha);
  const high = quantileSorted(draws, 1 - alpha);
  return {
    difference: observed,
    low,
    high,
    confidence: s.confidence,
    resamples: s.resamples,
    undefinedResamples: undefinedCount,
    higherIsBetter: s.higherIsBetter,
    verdict: verdictOf(low, high, s.confidence, s.higherIsBetter),
  };
}

/**
 * Paired bootstrap percentile interval of metric(A) - metric(B) on one test set. Each resample draws n test images
 * with replacement and keeps each image's A and B results together (the pairing removes the variance the two
 * models share, e.g. hard images), then evaluates the metric on the resampled set, so any set metric works:
 * AUROC, RSNA mAP and Dice as well as per-image means. Resamples where the metric is undefined (NaN) for A or B
 * are left out and counted.
 *
 * @example
 * const ci = pairedBootstrap(mtlImages, singleImages, (r) => auroc(r.map((x) => x.label), r.map((x) => x.score)), { seed: 100 });
 * // { difference, low, high, confidence: 0.95, resamples: 2000, verdict: 'better' | 'worse' | 'no difference at 95%', ... }
 */
export function pairedBootstrap<T>(
  a: readonly T[],
  b: readonly T[],
  metric: SetMetric<T>,
  options: BootstrapOptions,
): DifferenceInterval {
  const s = settingsOf(options);
  const run = { a, b };
  checkRun(run, 'b');
  const observed = differenceOn(run, metric, null);
  const rng = createRng(options.seed);
  const draws: number[] = [];
  let undefinedCount = 0;
  for (let r = 0; r < s.resamples; r++) {
    const d = differenceOn(run, metric, drawIndices(rng, a.length));
    if (Number.isNaN(d)) undefinedCount++;
    else draws.push(d);
  }
  return interval(observed, draws, undefinedCount, s);
}

/**
 * Two-level paired bootstrap over seeds: the interval of the mean over seeds of metric(A_s) - metric(B_s), where
 * run s holds A's and B's results on the test images of seed s (A and B of one seed share its split). Each
 * resample draws S seeds with replacement, then, inside each drawn seed, its test images with replacement (pairs
 * together), and averages the per-seed differences; so the interval carries both the seed-to-seed variation of
 * training and the sampling of test images.
 *
 * Why both levels: resampling seeds alone would treat each seed's test-set metric as exact, and images alone
 * (or pooling the images of all seeds) would ignore that another seed trains another model, so its interval is
 * far too narrow when seeds differ. The price of the two levels, both checked in test/bootstrap.test.ts: the
 * per-seed values already carry their test-image noise, and resampling images again counts it twice, so where
 * seeds hardly differ the interval is conservative (the hierarchical bootstrap of Saravanan et al. 2020 behaves
 * so); where seed-to-seed variation dominates, a bootstrap over as few as 5 seeds understates their spread and
 * the interval falls short of the nominal level. More seeds shrink the second effect; report the seed count
 * with every interval. With one seed it is {@link pairedBootstrap} up to the draw order.
 *
 * @example
 * const ci = pairedBootstrapOverSeeds(seeds.map((s) => ({ a: mtl[s], b: single[s] })), siimMeanDice, { seed: 'table1/seg.dice' });
 */
export function pairedBootstrapOverSeeds<T>(
  runs: readonly PairedRun<T>[],
  metric: SetMetric<T>,
  options: BootstrapOptions,
): DifferenceInterval {
  const s = settingsOf(options);
  if (runs.length === 0)
    throw new DataError('No seeds to resample', { field: 'runs', expected: 'at least one seed', found: 'none' });
  runs.forEach((run, k) => checkRun(run, `runs[${k}].b`));
  const observed = runs.reduce((sum, run) => sum + differenceOn(run, metric, null), 0) / runs.length;
  const rng = createRng(options.seed);
  const draws: number[] = [];
  let undefinedCount = 0;
  for (let r = 0; r < s.resamples; r++) {
    let sum = 0;
    for (let k = 0; k < runs.length; k++) {
      const run = runs[rng.int(0, runs.length)]!;
      sum += differenceOn(run, metric, drawIndices(rng, run.a.length));
    }
    if (Number.isNaN(sum)) undefinedCount++;
    else draws.push(sum / runs.length);
  }
  return interval(observed, draws, undefinedCount, s);
}
