import { describe, expect, it } from 'vitest';
import { DataError, createRng } from '@multichexnet/core';
import { chooseThreshold, gateMetrics } from '../src/index';

/** Brute force: every distinct score as a threshold, keep the largest one reaching the target sensitivity. */
function bruteForce(scores: number[], labels: number[], target: number): number {
  let best = -Infinity;
  for (const t of new Set(scores)) {
    let tp = 0;
    let p = 0;
    scores.forEach((s, i) => {
      if (labels[i] === 1) {
        p++;
        if (s >= t) tp++;
      }
    });
    if (tp / p >= target && t > best) best = t;
  }
  return best;
}

describe('chooseThreshold', () => {
  it('picks the largest threshold reaching the target, with its specificity', () => {
    const r = chooseThreshold([0.9, 0.8, 0.3, 0.6, 0.1], [1, 1, 1, 0, 0], { targetSensitivity: 0.66 });
    expect(r.threshold).toBe(0.8);
    expect(r.sensitivity).toBeCloseTo(2 / 3, 12);
    expect(r.specificity).toBe(1);
    expect(r.falseNegatives).toBe(1);
  });

  it('agrees with a brute-force search on random data, NaN labels skipped', () => {
    const rng = createRng('threshold');
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + trial;
      const labels = Array.from({ length: n }, () => (rng.bernoulli(0.1) ? Number.NaN : rng.bernoulli(0.4) ? 1 : 0));
      if (!labels.includes(1)) continue;
      // Rounded scores create ties.
      const scores = labels.map((y) => Math.round((rng.next() + (y === 1 ? 0.3 : 0)) * 20) / 20);
      const target = [0.5, 0.8, 0.9, 0.95, 1][trial % 5]!;
      const r = chooseThreshold(scores, labels, { targetSensitivity: target });
      const known = labels.map((y, i) => [y, scores[i]!] as const).filter(([y]) => !Number.isNaN(y));
      expect(r.threshold).toBe(
        bruteForce(
          known.map((k) => k[1]),
          known.map((k) => k[0]),
          target,
        ),
      );
      expect(r.sensitivity).toBeGreaterThanOrEqual(target);
      expect(r.count).toBe(known.length);
    }
  });

  it('target 1 keeps every positive', () => {
    const r = chooseThreshold([0.2, 0.7, 0.05, 0.4], [1, 1, 0, 0], { targetSensitivity: 1 });
    expect(r.threshold).toBe(0.2);
    expect(r.sensitivity).toBe(1);
    expect(r.specificity).toBe(0.5);
  });

  it('rejects bad inputs with a DataError', () => {
    expect(() => chooseThreshold([0.1], [0], { targetSensitivity: 0.9 })).toThrow(/at least one positive/);
    expect(() => chooseThreshold([0.1], [1], { targetSensitivity: 0 })).toThrow(DataError);
    expect(() => chooseThreshold([0.1, 0.2], [1], { targetSensitivity: 0.5 })).toThrow(/differ in length/);
    expect(() => chooseThreshold([Number.NaN], [1], { targetSensitivity: 0.5 })).toThrow(/not finite/);
  });
});

describe('gateMetrics', () => {
  it('counts the confusion matrix and skips unknown labels', () => {
    const m = gateMetrics([true, false, true, false, true], [1, 1, 0, 0, Number.NaN]);
    expect(m).toEqual({
      sensitivity: 0.5,
      specificity: 0.5,
      truePositives: 1,
      falsePositives: 1,
      trueNegatives: 1,
      falseNegatives: 1,
      count: 4,
    });
  });

  it('accepts gate decisions and gives NaN rates for a missing class', () => {
    const m = gateMetrics([{ probability: 0.9, positive: true }], [1]);
    expect(m.sensitivity).toBe(1);
    expect(m.specificity).toBeNaN();
  });

  it('rejects labels other than 0, 1, NaN', () => {
    expect(() => gateMetrics([true], [2])).toThrow(/0, 1 or NaN/);
  });
});
