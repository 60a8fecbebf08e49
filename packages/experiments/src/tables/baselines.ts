import { createRng, type BinaryMask, type ScoredBox } from '@multichexnet/core';
import { auroc, clsTask, f1Score } from '@multichexnet/head-cls';
import { apAt, detTask, rsnaMeanAP } from '@multichexnet/head-det';
import { segTask, siimMeanDice } from '@multichexnet/head-seg';
import { taskRecords, type EvalRaw } from '@multichexnet/trainer';

/** Reference scores of predictors that know nothing, computed on the same test truths as the models. */
export interface ChanceBaselines {
  cls?: {
    /** Mean AUROC of a constant score (every class, every image). */
    constantMeanAuroc: number;
    /** Mean AUROC of seeded uniform random scores. */
    randomMeanAuroc: number;
    /** Macro F1 of predicting every class present in every image. */
    allPositiveMacroF1: number;
  };
  det?: {
    /** No box anywhere. */
    emptyMAP: number;
    emptyAp50: number;
    /** One seeded random box with a random score per image. */
    randomMAP: number;
    randomAp50: number;
  };
  seg?: {
    /** An empty mask for every image (SIIM scores empty truths as 1). */
    emptyDice: number;
    /** Every pixel foreground. */
    fullDice: number;
  };
}

function meanDefined(values: number[]): number {
  const ok = values.filter((v) => Number.isFinite(v));
  return ok.length === 0 ? Number.NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
}

/**
 * Computes the chance baselines of the tables from the truths an evaluation collected (`EvalResult.raw`).
 *
 * @example
 * const chance = chanceBaselines(result.raw, 128, 7);   // chance.det.emptyMAP, chance.seg.emptyDice, ...
 */
export function chanceBaselines(raw: EvalRaw, imageSize: number, seed: number): ChanceBaselines {
  const out: ChanceBaselines = {};
  const rng = createRng(seed);
  const labels = taskRecords(raw, clsTask).map((r) => r.labels);
  const det = taskRecords(raw, detTask);
  const seg = taskRecords(raw, segTask);
  if (labels.length > 0) {
    const C = labels[0]!.length;
    const col = (c: number): Float32Array => Float32Array.from(labels, (row) => row[c]!);
    const constant = Array.from({ length: C }, (_, c) => auroc(col(c), new Float32Array(labels.length).fill(0.5)));
    const random = Array.from({ length: C }, (_, c) =>
      auroc(
        col(c),
        Float32Array.from(labels, () => rng.next()),
      ),
    );
    const f1 = f1Score(
      labels,
      labels.map(() => new Float32Array(C).fill(1)),
      { threshold: 0.5 },
    );
    out.cls = {
      constantMeanAuroc: meanDefined(constant),
      randomMeanAuroc: meanDefined(random),
      allPositiveMacroF1: f1.macro,
    };
  }
  if (det.length > 0) {
    const empty = det.map((d) => ({ truth: d.truth, predictions: [] as ScoredBox[] }));
    const random = det.map((d) => {
      const w = rng.uniform(0.1, 0.5) * imageSize;
      const h = rng.uniform(0.1, 0.5) * imageSize;
      const box: ScoredBox = {
        x: rng.uniform(0, imageSize - w),
        y: rng.uniform(0, imageSize - h),
        width: w,
        height: h,
        score: rng.next(),
      };
      return { truth: d.truth, predictions: [box] };
    });
    out.det = {
      emptyMAP: rsnaMeanAP(empty),
      emptyAp50: apAt(empty, 0.5),
      randomMAP: rsnaMeanAP(random),
      randomAp50: apAt(random, 0.5),
    };
  }
  if (seg.length > 0) {
    const mk = (t: BinaryMask, v: number): BinaryMask => ({
      width: t.width,
      height: t.height,
      data: new Uint8Array(t.width * t.height).fill(v),
    });
    out.seg = {
      emptyDice: siimMeanDice(seg.map((s) => ({ truth: s.truth, prediction: mk(s.truth, 0) }))),
      fullDice: siimMeanDice(seg.map((s) => ({ truth: s.truth, prediction: mk(s.truth, 1) }))),
    };
  }
  return out;
}
