import type { Box, ScoredBox } from '@multichexnet/core';
import { gateMetrics, gateRoc } from '@multichexnet/gating';
import { clsTask, f1Score, macroAuroc, sensitivityAtSpecificity } from '@multichexnet/head-cls';
import { apAt, detTask, positiveApAt, rsnaImageAP } from '@multichexnet/head-det';
import { segTask, siimMeanDice } from '@multichexnet/head-seg';
import type { MultiCheXNet } from '@multichexnet/model';
import { taskMetrics, taskRecords, type EvalResult } from '@multichexnet/trainer';

/**
 * What one evaluation saw, image by image, in a form small enough for a JSON file and complete enough to compute
 * every metric of the tables on any resample of the test images (the paired bootstrap). Images keep the
 * evaluation's order, which is the test split's order, the same for every variant of a seed.
 */
export interface ImageRecords {
  cls?: {
    classes: string[];
    /** Per image and class: 1 / 0, null where the dataset does not label the class. */
    labels: (number | null)[][];
    scores: number[][];
    /** Per-class F1 thresholds chosen on validation data. */
    thresholds: Record<string, number>;
    /** Specificity at which `cls.sensitivity` reads the sensitivity (transfer tables). */
    specificity?: number;
  };
  det?: {
    /** Box score threshold of the RSNA mAP, chosen on validation data. */
    scoreThreshold: number;
    /** Per image: RSNA AP at that threshold (null: no truth and no box, skipped by the metric). */
    rsnaAp: (number | null)[];
    truth: Box[][];
    /** The most confident boxes (at most {@link MAX_BOXES}), for VOC AP@0.5. */
    predictions: ScoredBox[][];
  };
  seg?: {
    minArea: number;
    /** Per image: SIIM Dice after the minimum-area rule (empty truth and empty prediction score 1). */
    dice: number[];
    /** Per image: whether the truth mask is non-empty. */
    positive: boolean[];
  };
  gate?: { scores: number[]; labels: number[]; positive: boolean[]; sources: string[] };
}

/** Boxes kept per image: VOC AP ranks every box, but those below the first dozen hardly move it. */
export const MAX_BOXES = 20;

const round = (v: number): number => Math.round(v * 1e5) / 1e5;

/**
 * Per-image records of an evaluation: its raw truths and predictions, read through the task table, under the decision
 * settings its metrics used (F1 thresholds, box score threshold, smallest mask kept: what `calibrate` chose on
 * validation data, else the head's own). `model` is the evaluated model (its classifier's classes).
 */
export function imageRecords(r: Pick<EvalResult, 'raw' | 'metrics'>, model: MultiCheXNet): ImageRecords {
  const out: ImageRecords = {};
  const cls = taskRecords(r.raw, clsTask);
  const clsHead = model.headOf(clsTask);
  if (cls.length > 0 && clsHead !== undefined) {
    const t = taskMetrics(r, clsTask)?.f1Threshold;
    // A number is the uncalibrated default (0.5 for every class), which the records store as no thresholds.
    const thresholds = t === undefined || typeof t === 'number' ? {} : t;
    out.cls = clsRecords(
      { classes: clsHead.config.classes, labels: cls.map((x) => x.labels), scores: cls.map((x) => x.scores) },
      thresholds,
    );
  }
  const det = taskRecords(r.raw, detTask);
  const detMetrics = taskMetrics(r, detTask);
  if (det.length > 0 && detMetrics !== undefined) {
    const t = detMetrics.scoreThreshold;
    out.det = {
      scoreThreshold: t,
      rsnaAp: det.map((d) => rsnaImageAP({ truth: d.truth, predictions: d.predictions.filter((p) => p.score >= t) })),
      truth: det.map((d) =>
        d.truth.map(({ x, y, width, height }) => ({
          x: round(x),
          y: round(y),
          width: round(width),
          height: round(height),
        })),
      ),
      predictions: det.map((d) =>
        [...d.predictions]
          .sort((a, b) => b.score - a.score)
          .slice(0, MAX_BOXES)
          .map((p) => ({
            x: round(p.x),
            y: round(p.y),
            width: round(p.width),
            height: round(p.height),
            score: round(p.score),
          })),
      ),
    };
  }
  const seg = taskRecords(r.raw, segTask);
  const segMetrics = taskMetrics(r, segTask);
  if (seg.length > 0 && segMetrics !== undefined) {
    const minArea = segMetrics.minArea;
    out.seg = {
      minArea,
      dice: seg.map((s) => {
        let n = 0;
        for (let i = 0; i < s.prediction.data.length; i++) if (s.prediction.data[i] !== 0) n++;
        const prediction =
          n >= minArea ? s.prediction : { ...s.prediction, data: new Uint8Array(s.prediction.data.length) };
        return round(siimMeanDice([{ truth: s.truth, prediction }]));
      }),
      positive: seg.map((s) => s.truth.data.some((v) => v !== 0)),
    };
  }
  if (r.raw.gate.labels.length > 0) {
    out.gate = {
      scores: r.raw.gate.scores.map(round),
      labels: [...r.raw.gate.labels],
      positive: [...r.raw.gate.positive],
      sources: [...r.raw.gate.sources],
    };
  }
  return out;
}

/** Per-image CheXCls records from test labels and scores (NaN = not labelled), the validation-chosen F1 thresholds and, for transfer, the specificity its sensitivity is read at. */
export function clsRecords(
  scores: { classes: readonly string[]; labels: readonly Float32Array[]; scores: readonly Float32Array[] },
  thresholds: Record<string, number>,
  specificity?: number,
): NonNullable<ImageRecords['cls']> {
  return {
    classes: [...scores.classes],
    labels: scores.labels.map((row) => Array.from(row, (v) => (Number.isNaN(v) ? null : v))),
    scores: scores.scores.map((row) => Array.from(row, round)),
    thresholds: { ...thresholds },
    ...(specificity !== undefined ? { specificity } : {}),
  };
}

/** The metrics of the tables, both families: the leaderboards' and the authors'. */
export const METRICS = [
  'cls.meanAuroc',
  'cls.macroF1',
  'cls.sensitivity',
  'det.mAP',
  'det.ap50',
  'det.positiveAp50',
  'seg.dice',
  'seg.positiveDice',
  'gate.auroc',
  'gate.sensitivity',
  'gate.specificity',
] as const;
/** One of {@link METRICS}. */
export type MetricName = (typeof METRICS)[number];
/** The task of a metric. */
export const taskOf = (m: MetricName): 'cls' | 'det' | 'seg' | 'gate' =>
  m.split('.')[0] as 'cls' | 'det' | 'seg' | 'gate';

/** How each metric is computed and named. */
export const METRIC_INFO: Record<MetricName, { label: string; family: 'leaderboard' | 'authors' | 'gate' }> = {
  'cls.meanAuroc': { label: 'cls mean AUROC (NIH)', family: 'leaderboard' },
  'cls.macroF1': { label: 'cls macro F1', family: 'authors' },
  'cls.sensitivity': { label: 'sensitivity at fixed specificity', family: 'authors' },
  'det.mAP': { label: 'det RSNA mAP', family: 'leaderboard' },
  'det.ap50': { label: 'det AP@0.5 (all images)', family: 'leaderboard' },
  'det.positiveAp50': { label: 'det AP@0.5 (positive images)', family: 'authors' },
  'seg.dice': { label: 'seg SIIM Dice (all images)', family: 'leaderboard' },
  'seg.positiveDice': { label: 'seg Dice (positive images)', family: 'authors' },
  'gate.auroc': { label: 'gate AUROC', family: 'gate' },
  'gate.sensitivity': { label: 'gate sensitivity', family: 'gate' },
  'gate.specificity': { label: 'gate specificity', family: 'gate' },
};

/** One test image of a record set, as the bootstrap resamples it. */
export type ImageItem = number;

/** Number of images a metric's task holds in a record set (0 when the task was not evaluated). */
export function imageCount(r: ImageRecords, m: MetricName): number {
  const t = taskOf(m);
  if (t === 'cls') return r.cls?.labels.length ?? 0;
  if (t === 'det') return r.det?.truth.length ?? 0;
  if (t === 'seg') return r.seg?.dice.length ?? 0;
  return r.gate?.labels.length ?? 0;
}

/** Typed rows of a cls record set, made once per set: a bootstrap evaluates the metric on it thousands of times. */
const clsCache = new WeakMap<
  NonNullable<ImageRecords['cls']>,
  { labels: Float32Array[]; scores: Float32Array[]; decided: Float32Array[] }
>();
function clsRows(c: NonNullable<ImageRecords['cls']>): {
  labels: Float32Array[];
  scores: Float32Array[];
  decided: Float32Array[];
} {
  let rows = clsCache.get(c);
  if (rows === undefined) {
    rows = {
      labels: c.labels.map((row) => Float32Array.from(row, (v) => (v === null ? Number.NaN : v))),
      scores: c.scores.map((row) => Float32Array.from(row)),
      decided: c.scores.map((row) =>
        Float32Array.from(c.classes, (k, j) => (row[j]! >= (c.thresholds[k] ?? 0.5) ? 1 : 0)),
      ),
    };
    clsCache.set(c, rows);
  }
  return rows;
}

const meanOf = (v: number[]): number => (v.length === 0 ? Number.NaN : v.reduce((a, b) => a + b, 0) / v.length);

/**
 * A metric on a subset of the images of a record set (indices, repeats allowed: a bootstrap resample), defined
 * through the head packages' own metric functions.
 */
export function metricOn(r: ImageRecords, m: MetricName, idx: readonly number[]): number {
  switch (m) {
    case 'cls.meanAuroc':
    case 'cls.macroF1':
    case 'cls.sensitivity': {
      const c = r.cls;
      if (c === undefined) return Number.NaN;
      const rows = clsRows(c);
      const labels = idx.map((i) => rows.labels[i]!);
      if (m === 'cls.meanAuroc')
        return macroAuroc(
          labels,
          idx.map((i) => rows.scores[i]!),
          c.classes,
        ).mean;
      if (m === 'cls.sensitivity') {
        if (c.specificity === undefined) return Number.NaN;
        const per = c.classes.map((_, j) => {
          const keep = idx.filter((i) => c.labels[i]![j] !== null);
          if (keep.length === 0) return Number.NaN;
          return sensitivityAtSpecificity(
            Float32Array.from(keep, (i) => c.labels[i]![j]!),
            Float32Array.from(keep, (i) => c.scores[i]![j]!),
            c.specificity!,
          ).sensitivity;
        });
        return meanOf(per.filter((v) => !Number.isNaN(v)));
      }
      const decided = idx.map((i) => rows.decided[i]!);
      return f1Score(labels, decided, { threshold: 0.5, classes: c.classes }).macro;
    }
    case 'det.mAP':
      return r.det === undefined
        ? Number.NaN
        : meanOf(idx.map((i) => r.det!.rsnaAp[i]!).filter((v): v is number => v !== null));
    case 'det.ap50':
    case 'det.positiveAp50': {
      const d = r.det;
      if (d === undefined) return Number.NaN;
      const images = idx.map((i) => ({ truth: d.truth[i]!, predictions: d.predictions[i]! }));
      return m === 'det.ap50' ? apAt(images, 0.5) : positiveApAt(images, 0.5);
    }
    case 'seg.dice':
      return r.seg === undefined ? Number.NaN : meanOf(idx.map((i) => r.seg!.dice[i]!));
    case 'seg.positiveDice':
      return r.seg === undefined
        ? Number.NaN
        : meanOf(idx.filter((i) => r.seg!.positive[i]).map((i) => r.seg!.dice[i]!));
    case 'gate.auroc':
      return r.gate === undefined
        ? Number.NaN
        : gateRoc(
            idx.map((i) => r.gate!.scores[i]!),
            idx.map((i) => r.gate!.labels[i]!),
          ).auroc;
    case 'gate.sensitivity':
    case 'gate.specificity': {
      if (r.gate === undefined) return Number.NaN;
      const g = gateMetrics(
        idx.map((i) => r.gate!.positive[i]!),
        idx.map((i) => r.gate!.labels[i]!),
      );
      return m === 'gate.sensitivity' ? g.sensitivity : g.specificity;
    }
  }
}

/** A metric on every image of a record set. */
export function metricOf(r: ImageRecords, m: MetricName): number {
  const n = imageCount(r, m);
  return n === 0
    ? Number.NaN
    : metricOn(
        r,
        m,
        Array.from({ length: n }, (_, i) => i),
      );
}
