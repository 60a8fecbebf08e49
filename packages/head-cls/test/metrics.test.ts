import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataError, createRng } from '@multichexnet/core';
import { auroc, f1Score, macroAuroc, rocCurve, sensitivityAtSpecificity } from '../src/index';

describe('auroc', () => {
  it('gives the spec test vectors', () => {
    expect(auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(auroc([0, 1], [0.5, 0.5])).toBe(0.5);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 for all-equal scores', () => {
    expect(auroc([0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.9])).toBe(1);
    expect(auroc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
    expect(auroc([1, 0, 1, 0, 0], [3, 3, 3, 3, 3])).toBe(0.5);
  });

  it('equals the Mann-Whitney probability with ties counted 1/2 (brute force over all pairs)', () => {
    const rng = createRng('mann-whitney');
    for (let trial = 0; trial < 20; trial++) {
      const n = rng.int(2, 60);
      const y = Array.from({ length: n }, () => (rng.bernoulli(0.4) ? 1 : 0));
      y[0] = 0;
      y[1] = 1;
      const s = Array.from({ length: n }, () => rng.int(0, 6) / 5); // few distinct values: many ties
      let wins = 0;
      let pairs = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (y[i] !== 1 || y[j] !== 0) continue;
          pairs++;
          wins += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
        }
      }
      expect(auroc(y, s)).toBeCloseTo(wins / pairs, 12);
    }
  });

  it('is invariant to strictly increasing transforms of the scores and flips with their negation', () => {
    const y = [0, 1, 1, 0, 1, 0, 0, 1];
    const s = [0.2, 0.7, 0.4, 0.4, 0.9, 0.1, 0.65, 0.3];
    const a = auroc(y, s);
    expect(
      auroc(
        y,
        s.map((v) => Math.exp(5 * v) - 3),
      ),
    ).toBeCloseTo(a, 12);
    expect(
      auroc(
        y,
        s.map((v) => -v),
      ),
    ).toBeCloseTo(1 - a, 12);
  });

  it('is NaN when only one class is present, and skips NaN labels', () => {
    expect(auroc([0, 0, 0], [0.1, 0.5, 0.9])).toBeNaN();
    expect(auroc([1, 1], [0.1, 0.5])).toBeNaN();
    expect(auroc([], [])).toBeNaN();
    expect(auroc([0, NaN, 0, 1, NaN, 1], [0.1, 0.99, 0.4, 0.35, 0.0, 0.8])).toBe(0.75);
  });

  it('refuses NaN scores, non-binary labels and length mismatches with a DataError naming the row', () => {
    expect(() => auroc([0, 1], [0.1, NaN])).toThrow(DataError);
    expect(() => auroc([0, 1], [0.1, NaN])).toThrow(/row 2, field yScore\): expected a finite number, found NaN/);
    expect(() => auroc([0, 2], [0.1, 0.2])).toThrow(/row 2, field yTrue\): expected 0, 1 or NaN, found 2/);
    expect(() => auroc([0, 1, 1], [0.1, 0.2])).toThrow(/expected 3 scores, found 2/);
  });
});

describe('rocCurve and sensitivityAtSpecificity', () => {
  it('walks the distinct thresholds from (0, 0) to (1, 1)', () => {
    const pts = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(pts).toEqual([
      { threshold: Infinity, fpr: 0, tpr: 0 },
      { threshold: 0.8, fpr: 0, tpr: 0.5 },
      { threshold: 0.4, fpr: 0.5, tpr: 0.5 },
      { threshold: 0.35, fpr: 0.5, tpr: 1 },
      { threshold: 0.1, fpr: 1, tpr: 1 },
    ]);
  });

  it('moves tied scores together', () => {
    expect(rocCurve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]).map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
  });

  it('picks the best sensitivity that keeps the specificity', () => {
    const y = [0, 0, 1, 1];
    const s = [0.1, 0.4, 0.35, 0.8];
    expect(sensitivityAtSpecificity(y, s, 0.5)).toEqual({ sensitivity: 1, specificity: 0.5, threshold: 0.35 });
    expect(sensitivityAtSpecificity(y, s, 0.9)).toEqual({ sensitivity: 0.5, specificity: 1, threshold: 0.8 });
    expect(sensitivityAtSpecificity(y, s, 0)).toEqual({ sensitivity: 1, specificity: 0.5, threshold: 0.35 });
    expect(sensitivityAtSpecificity([1, 1, 0], [0.1, 0.2, 0.9], 1)).toEqual({
      sensitivity: 0,
      specificity: 1,
      threshold: Infinity,
    });
    expect(sensitivityAtSpecificity([1, 1], [0.1, 0.2], 0.5).sensitivity).toBeNaN();
  });
});

describe('f1Score', () => {
  it('counts strictly above the threshold, per class, macro and micro', () => {
    const r = f1Score(
      [
        [1, 0],
        [0, 1],
      ],
      [
        [0.9, 0.2],
        [0.6, 0.4],
      ],
    );
    expect(r.perClass['0']).toBeCloseTo(2 / 3, 12);
    expect(r.perClass['1']).toBe(0);
    expect(r.macro).toBeCloseTo(1 / 3, 12);
    expect(r.micro).toBe(0.5);
    // 0.5 is not above 0.5
    expect(f1Score([[1]], [[0.5]]).perClass['0']).toBe(0);
    expect(f1Score([[1]], [[0.5]], { threshold: 0.4 }).perClass['0']).toBe(1);
  });

  it('is 0 (not NaN) for a class with no positives and no positive predictions; skips NaN labels', () => {
    const r = f1Score(
      [
        [0, 1],
        [0, NaN],
        [0, 1],
      ],
      [
        [0.1, 0.9],
        [0.2, 0.99],
        [0.3, 0.1],
      ],
      { classes: ['a', 'b'] },
    );
    expect(r.perClass).toEqual({ a: 0, b: 2 / 3 });
    expect(r.macro).toBeCloseTo(1 / 3, 12);
    expect(r.micro).toBeCloseTo(2 / 3, 12);
  });

  it('refuses ragged rows and unnamed-class mismatches', () => {
    expect(() =>
      f1Score(
        [[1, 0], [1]],
        [
          [0.9, 0.2],
          [0.6, 0.4],
        ],
      ),
    ).toThrow(/row 2\): expected 2 labels and 2 scores, found 1 labels and 2 scores/);
    expect(() => f1Score([[1]], [[0.9]], { classes: ['a', 'b'] })).toThrow(/expected 1 names, found 2/);
  });
});

describe('macroAuroc', () => {
  it('averages the defined classes only and names each', () => {
    const yTrue = [
      [0, 1, 0],
      [1, 1, NaN],
      [0, 1, 1],
      [1, 1, 0],
    ];
    const yScore = [
      [0.1, 0.3, 0.2],
      [0.8, 0.4, 0.9],
      [0.3, 0.5, 0.7],
      [0.35, 0.6, 0.1],
    ];
    const r = macroAuroc(yTrue, yScore, ['A', 'B', 'C']);
    expect(r.perClass.A).toBe(1);
    expect(r.perClass.B).toBeNaN();
    expect(r.perClass.C).toBe(1);
    expect(r.defined).toBe(2);
    expect(r.mean).toBe(1);
    expect(macroAuroc([[0], [0]], [[0.1], [0.2]]).mean).toBeNaN();
  });
});

// Reference values from scikit-learn on seeded random data with ties, computed by Debian's python3-sklearn in
// this test run (nothing typed in by hand).
const PYTHON = '/usr/bin/python3';
const SKLEARN = fileURLToPath(new URL('./fixtures/sklearn_reference.py', import.meta.url));

// Not skipped when sklearn is missing: a parity test that skips proves nothing (.ci/system-deps installs it).
describe('agreement with scikit-learn', () => {
  it('matches roc_auc_score, roc_curve, f1_score and the operating point on random data with ties and NaN labels', () => {
    const rng = createRng('sklearn-reference');
    const n = 300;
    const classes = 6;
    const yTrue: number[][] = [];
    const yScore: number[][] = [];
    for (let i = 0; i < n; i++) {
      const labels: number[] = [];
      const scores: number[] = [];
      for (let c = 0; c < classes; c++) {
        const y = rng.bernoulli(0.1 + 0.12 * c) ? 1 : 0;
        // Rounded to 2 decimals: many tied scores, some across classes of label.
        const s = Math.round(Math.min(1, Math.max(0, 0.5 * rng.next() + 0.3 * y + 0.2 * rng.next())) * 100) / 100;
        labels.push(c >= 3 && rng.bernoulli(0.15) ? NaN : y);
        scores.push(s);
      }
      yTrue.push(labels);
      yScore.push(scores);
    }
    const res = spawnSync(PYTHON, [SKLEARN], {
      input: JSON.stringify({ yTrue, yScore, specificities: [0.5, 0.8, 0.9, 0.95] }),
      encoding: 'utf8',
    });
    expect(res.error, `${PYTHON} with sklearn is needed (python3-sklearn in .ci/system-deps)`).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout.replace(/\bNaN\b/g, 'null').replace(/-?\bInfinity\b/g, 'null')) as {
      auroc: number[];
      macroAuroc: number;
      roc: { fpr: number[]; tpr: number[]; thresholds: (number | null)[] }[];
      f1PerClass: number[];
      f1Macro: number;
      f1Micro: number;
      sensAtSpec: number[][];
    };
    const ours = macroAuroc(yTrue, yScore);
    for (let c = 0; c < classes; c++) {
      expect(ours.perClass[String(c)], `auroc class ${c}`).toBeCloseTo(ref.auroc[c]!, 12);
      const col = (m: number[][]) => m.map((r) => r[c]!);
      const curve = rocCurve(col(yTrue), col(yScore));
      expect(curve.map((p) => p.fpr)).toEqual(ref.roc[c]!.fpr.map((v) => expect.closeTo(v, 12)));
      expect(curve.map((p) => p.tpr)).toEqual(ref.roc[c]!.tpr.map((v) => expect.closeTo(v, 12)));
      // sklearn's first threshold is a sentinel above the maximum; ours is +Infinity. The rest are the scores.
      expect(curve.slice(1).map((p) => p.threshold)).toEqual(ref.roc[c]!.thresholds.slice(1));
      ref.sensAtSpec[c]!.forEach((sens, k) => {
        expect(
          sensitivityAtSpecificity(col(yTrue), col(yScore), [0.5, 0.8, 0.9, 0.95][k]!).sensitivity,
          `class ${c} spec ${k}`,
        ).toBeCloseTo(sens, 12);
      });
    }
    expect(ours.mean).toBeCloseTo(ref.macroAuroc, 12);
    const f1 = f1Score(yTrue, yScore);
    ref.f1PerClass.forEach((v, c) => expect(f1.perClass[String(c)], `f1 class ${c}`).toBeCloseTo(v, 12));
    expect(f1.macro).toBeCloseTo(ref.f1Macro, 12);
    expect(f1.micro).toBeCloseTo(ref.f1Micro, 12);
  });
});
