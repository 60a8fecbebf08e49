import { DataError } from '@multichexnet/core';
import {
  calibrationSamples,
  isClassSamples,
  type CalibrationSamples,
  type ClassSamples,
  type CollectedOutputs,
  type TaskSamples,
} from './collect-outputs';

/*
 * Temperature scaling (Guo et al. 2017) for sigmoid outputs: p = sigmoid(z / T) with one T > 0 per class or head,
 * fitted by minimising the negative log-likelihood on validation data. T > 1 softens over-confident scores, T < 1
 * sharpens timid ones; the ranking (AUROC, AP) never changes, only what a probability of 0.7 means.
 */

/** One fitted temperature and what it did to the validation negative log-likelihood (mean per sample). */
export interface TemperatureFit {
  temperature: number;
  /** Mean binary NLL at T = 1 and at the fitted T, on the samples fitted. */
  nllBefore: number;
  nllAfter: number;
  /** Samples with a 0/1 label (NaN labels are left out). */
  count: number;
  /** false when the samples hold one class only (or none): T stays 1. */
  fitted: boolean;
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** The annotated (logit, label) pairs; labels other than 0, 1 or NaN and non-finite logits are DataErrors. */
function pairs(logits: ArrayLike<number>, labels: ArrayLike<number>, what: string): { z: Float64Array; y: Uint8Array } {
  if (logits.length !== labels.length)
    throw new DataError('Logits and labels differ in length', {
      field: what,
      expected: `${logits.length} labels`,
      found: `${labels.length}`,
    });
  const z: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (Number.isNaN(l)) continue;
    if (l !== 0 && l !== 1)
      throw new DataError('Label is neither 0, 1 nor NaN', {
        field: `${what}[${i}]`,
        expected: '0, 1 or NaN',
        found: String(l),
      });
    const v = logits[i]!;
    if (!Number.isFinite(v))
      throw new DataError('Logit is not finite', {
        field: `${what}[${i}]`,
        expected: 'a finite logit',
        found: String(v),
      });
    z.push(v);
    y.push(l);
  }
  return { z: Float64Array.from(z), y: Uint8Array.from(y) };
}

/** Mean binary NLL of sigmoid(a z) against y. */
function meanNll(z: Float64Array, y: Uint8Array, a: number): number {
  let s = 0;
  for (let i = 0; i < z.length; i++) s += softplus(a * z[i]!) - y[i]! * a * z[i]!;
  return s / Math.max(1, z.length);
}

/**
 * Fits the temperature T of sigmoid(z / T) to labelled logits by minimum NLL. The NLL is convex in a = 1 / T, so its
 * derivative sum z (sigmoid(a z) - y) rises with a and its root is found by bisection on log a in [1e-3, 1e3]
 * (T from 0.001 to 1000). NaN labels are left out. With one class only the NLL has no finite minimum: T stays 1
 * and `fitted` is false.
 *
 * @example
 * fitTemperature([4, -4, 3, -2], [1, 0, 0, 0]).temperature;   // > 1: these logits are over-confident
 */
export function fitTemperature(logits: ArrayLike<number>, labels: ArrayLike<number>, what = 'logits'): TemperatureFit {
  const { z, y } = pairs(logits, labels, what);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i]!;
  const nllBefore = meanNll(z, y, 1);
  if (positives === 0 || positives === y.length)
    return { temperature: 1, nllBefore, nllAfter: nllBefore, count: y.length, fitted: false };
  const grad = (a: number): number => {
    let g = 0;
    for (let i = 0; i < z.length; i++) g += z[i]! * (sigmoid(a * z[i]!) - y[i]!);
    return g;
  };
  let lo = Math.log(1e-3);
  let hi = Math.log(1e3);
  if (grad(Math.exp(lo)) >= 0) hi = lo;
  else if (grad(Math.exp(hi)) <= 0) lo = hi;
  else {
    for (let it = 0; it < 100 && hi - lo > 1e-12; it++) {
      const mid = (lo + hi) / 2;
      if (grad(Math.exp(mid)) > 0) hi = mid;
      else lo = mid;
    }
  }
  const a = Math.exp((lo + hi) / 2);
  return { temperature: 1 / a, nllBefore, nllAfter: meanNll(z, y, a), count: y.length, fitted: true };
}

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  /** The bin covers probabilities in [lower, upper) (the last one includes 1). */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability of the bin's samples (NaN when empty). */
  meanProbability: number;
  /** Fraction of the bin's samples that are positive (NaN when empty). */
  positiveRate: number;
}

/** A reliability diagram and the expected calibration error it gives. */
export interface Reliability {
  /**
   * Expected calibration error: sum over bins of (count / total) x |positiveRate - meanProbability| (Naeini et al.
   * 2015; Guo et al. 2017), with equal-width bins over [0, 1]. NaN when no sample has a label.
   */
  ece: number;
  count: number;
  bins: ReliabilityBin[];
}

/**
 * The reliability diagram of binary probabilities against 0/1 labels (NaN labels left out) with `bins` equal-width
 * bins, and its expected calibration error. For multi-label outputs pass every (image, class) pair: the ECE of the
 * pooled binary decisions.
 *
 * @example
 * reliability([0.9, 0.8, 0.2], [1, 0, 0], 10).ece;
 */
export function reliability(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 15,
  what = 'probabilities',
): Reliability {
  if (!(Number.isInteger(bins) && bins > 0))
    throw new DataError('Reliability bin count must be a positive integer', {
      field: 'bins',
      expected: 'an integer >= 1',
      found: String(bins),
    });
  if (probabilities.length !== labels.length)
    throw new DataError('Probabilities and labels differ in length', {
      field: what,
      expected: `${probabilities.length} labels`,
      found: `${labels.length}`,
    });
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (Number.isNaN(y)) continue;
    const p = probabilities[i]!;
    if (!(p >= 0 && p <= 1))
      throw new DataError('Probability outside [0, 1]', {
        field: `${what}[${i}]`,
        expected: 'a value in [0, 1]',
        found: String(p),
      });
    if (y !== 0 && y !== 1)
      throw new DataError('Label is neither 0, 1 nor NaN', {
        field: `labels[${i}]`,
        expected: '0, 1 or NaN',
        found: String(y),
      });
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]! += 1;
    sumP[b]! += p;
    sumY[b]! += y;
    total++;
  }
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const n = count[b]!;
    const meanProbability = n > 0 ? sumP[b]! / n : Number.NaN;
    const positiveRate = n > 0 ? sumY[b]! / n : Number.NaN;
    if (n > 0) ece += (n / total) * Math.abs(positiveRate - meanProbability);
    out.push({ lower: b / bins, upper: (b + 1) / bins, count: n, meanProbability, positiveRate });
  }
  return { ece: total > 0 ? ece : Number.NaN, count: total, bins: out };
}

/** Labels of each kind a CheXCls class needs for a temperature of its own (else it takes the head's pooled one). */
export const MIN_CLASS_LABELS = 10;

/** A task calibrated per class: each class's fit, or the task's pooled one (`pooled: true`). */
export type ClassTemperatureFits = Record<string, TemperatureFit & { pooled?: boolean }>;

/**
 * The fits of {@link fitHeadTemperatures} on outputs of type O, by task: a per-class task (CheXCls) always gets its
 * classes' fits, a task calibrated as a whole (CheXDet, CheXSeg, a user's task) one fit, absent without samples.
 */
export type TemperatureFitsOf<O> = {
  [K in keyof O as K extends 'features' ? never : K]: O[K] extends ClassSamples
    ? ClassTemperatureFits
    : O[K] extends TaskSamples
      ? TemperatureFit | undefined
      : ClassTemperatureFits | TemperatureFit | undefined;
};

/** Temperatures of every calibrated head fitted on one set of collected outputs, by task name. */
export type HeadTemperatures = TemperatureFitsOf<CollectedOutputs>;

/** A per-class task's fits: per class its own when it has enough labels of each kind, else the pooled one. */
function fitClassTemperatures(task: string, samples: ClassSamples): ClassTemperatureFits {
  const out: ClassTemperatureFits = {};
  const { logits, labels, classes } = samples;
  if (logits.length === 0) return out;
  const pooled = fitTemperature(
    logits.flatMap((r) => Array.from(r)),
    labels.flatMap((r) => Array.from(r)),
    task,
  );
  classes.forEach((c, j) => {
    const y = labels.map((r) => r[j]!);
    const positives = y.filter((v) => v === 1).length;
    const negatives = y.filter((v) => v === 0).length;
    out[c] =
      positives >= MIN_CLASS_LABELS && negatives >= MIN_CLASS_LABELS
        ? fitTemperature(
            logits.map((r) => r[j]!),
            y,
            `${task}.${c}`,
          )
        : { ...pooled, pooled: true };
  });
  return out;
}

/**
 * Fits the temperatures of every calibrated task on outputs collected by {@link collectOutputs} (normally the
 * validation split), as its decoder calibrates it: one per class for a per-class task (CheXCls: a class's own fit
 * when it has at least {@link MIN_CLASS_LABELS} positive and negative labels, else the fit pooled over every (image,
 * class) pair, `pooled: true`: a temperature from a handful of labels is noise), one for a task calibrated as a
 * whole (CheXDet's box scores, CheXSeg's pixels, a user's task). A task without samples gets none.
 *
 * @example
 * const t = fitHeadTemperatures(await collectOutputs(model, valSets, { imageSize: 128, heads: true }));
 * t.cls.Pneumonia.temperature; t.det?.temperature;
 */
export function fitHeadTemperatures<O extends CollectedOutputs>(outputs: O): TemperatureFitsOf<O> {
  const out: Record<string, ClassTemperatureFits | TemperatureFit> = {};
  for (const [task, samples] of calibrationSamples(outputs)) {
    if (isClassSamples(samples)) out[task] = fitClassTemperatures(task, samples);
    else if (samples.logits.length > 0) out[task] = fitTemperature(samples.logits, samples.labels, task);
  }
  return out as TemperatureFitsOf<O>;
}

/** Reliability before and after temperature scaling. */
export interface ReliabilityChange {
  before: Reliability;
  after: Reliability;
}

/** Reliability of each calibrated head by task name (a per-class task: every (image, class) pair with a label, pooled). */
export type HeadReliability = Partial<Record<string, ReliabilityChange>>;

/** Temperatures by task: one number, or one per class (a class left out keeps T = 1). */
export type TaskTemperatures = Readonly<Record<string, number | Readonly<Record<string, number>> | undefined>>;

const sigmoidOf = (z: number, t: number): number => sigmoid(z / t);

/**
 * A task's samples as one list of (logit, label, temperature): per class every (image, class) pair with its class's
 * temperature, else every sample with the task's one.
 */
function scaledPairs(
  samples: CalibrationSamples,
  t: TaskTemperatures[string],
): { z: readonly number[]; y: readonly number[]; temperature: (i: number) => number } {
  if (!isClassSamples(samples)) {
    const T = typeof t === 'number' ? t : 1;
    return { z: samples.logits, y: samples.labels, temperature: () => T };
  }
  const z: number[] = [];
  const y: number[] = [];
  const T: number[] = [];
  samples.logits.forEach((row, i) =>
    samples.classes.forEach((c, j) => {
      z.push(row[j]!);
      y.push(samples.labels[i]![j]!);
      T.push(typeof t === 'number' ? t : (t?.[c] ?? 1));
    }),
  );
  return { z, y, temperature: (i) => T[i]! };
}

/**
 * Reliability diagrams and ECE of each head's probabilities on collected outputs (normally the test split), at
 * T = 1 and at the given temperatures (by task, as {@link fitHeadTemperatures} fits them; a task without one keeps
 * T = 1).
 *
 * @example
 * const r = headReliability(testOutputs, { cls: { Pneumonia: 1.8 }, det: 1.3 });
 * r.cls?.before.ece; r.cls?.after.ece;
 */
export function headReliability(outputs: CollectedOutputs, temperatures: TaskTemperatures, bins = 15): HeadReliability {
  const out: HeadReliability = {};
  for (const [task, samples] of calibrationSamples(outputs)) {
    if (samples.logits.length === 0) continue;
    const { z, y, temperature } = scaledPairs(samples, temperatures[task]);
    out[task] = {
      before: reliability(
        z.map((v) => sigmoidOf(v, 1)),
        y,
        bins,
        task,
      ),
      after: reliability(
        z.map((v, i) => sigmoidOf(v, temperature(i))),
        y,
        bins,
        task,
      ),
    };
  }
  return out;
}
