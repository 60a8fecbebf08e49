import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRng } from '@multichexnet/core';
import { gateMetrics, gateRoc } from '../src/index';

describe('gateRoc', () => {
  it('walks every threshold from (0, 0) to (1, 1) and gives the area', () => {
    const r = gateRoc([0.9, 0.2, 0.6, 0.4], [1, 0, 0, 1]);
    expect(r.points).toEqual([
      { threshold: Infinity, fpr: 0, tpr: 0 },
      { threshold: 0.9, fpr: 0, tpr: 0.5 },
      { threshold: 0.6, fpr: 0.5, tpr: 0.5 },
      { threshold: 0.4, fpr: 0.5, tpr: 1 },
      { threshold: 0.2, fpr: 1, tpr: 1 },
    ]);
    expect(r.auroc).toBe(0.75);
    expect([r.positives, r.negatives]).toEqual([2, 2]);
  });

  it('each point is the gate at that threshold (positive when probability >= threshold), as gateMetrics scores it', () => {
    const rng = createRng('gate-roc-points');
    const labels = Array.from({ length: 80 }, () => (rng.bernoulli(0.1) ? Number.NaN : rng.bernoulli(0.4) ? 1 : 0));
    const scores = labels.map((y) => Math.round((rng.next() + (y === 1 ? 0.4 : 0)) * 10) / 10); // ties
    for (const p of gateRoc(scores, labels).points) {
      const m = gateMetrics(
        scores.map((s) => s >= p.threshold),
        labels,
      );
      expect(p.tpr).toBeCloseTo(m.sensitivity, 12);
      expect(p.fpr).toBeCloseTo(1 - m.specificity, 12);
    }
  });

  it('skips unknown labels; NaN area and rates without one class; names the bad row', () => {
    expect(gateRoc([0.9, 0.1, 0.5], [1, 0, Number.NaN]).auroc).toBe(1);
    const one = gateRoc([0.3, 0.7], [1, 1]);
    expect(one.auroc).toBeNaN();
    expect(one.points[1]!.fpr).toBeNaN();
    expect(() => gateRoc([0.3, Number.NaN], [1, 0])).toThrow(/gateRoc: scores must be finite \(row 2, field yScore\)/);
    expect(() => gateRoc([0.3], [1, 0])).toThrow(/expected 2 scores, found 1/);
  });
});

// scikit-learn's roc_curve(drop_intermediate=False) and roc_auc_score, run by Debian's python3-sklearn once for
// every case of this file.
const PYTHON = '/usr/bin/python3';
const REFERENCE = fileURLToPath(new URL('./reference/roc_reference.py', import.meta.url));

describe('agreement with scikit-learn', () => {
  it('curve points, thresholds and AUROC on random gate scores with ties and unknown labels', () => {
    const rng = createRng('gate-roc-sklearn');
    const cases = Array.from({ length: 12 }, (_, c) => {
      const n = 20 + 30 * c;
      const labels = Array.from({ length: n }, () =>
        rng.bernoulli(0.08) ? Number.NaN : rng.bernoulli(0.15 + 0.05 * c) ? 1 : 0,
      );
      labels[0] = 0;
      labels[1] = 1;
      const decimals = c % 3 === 0 ? 10 : 1000; // coarse scores: many ties
      const scores = labels.map(
        (y) =>
          Math.round(Math.min(1, Math.max(0, 0.6 * rng.next() + (y === 1 ? 0.25 : 0) + 0.15 * rng.next())) * decimals) /
          decimals,
      );
      return { scores, labels };
    });
    const res = spawnSync(PYTHON, [REFERENCE], { input: JSON.stringify({ cases }), encoding: 'utf8' });
    expect(res.error, `${PYTHON} with sklearn is needed (python3-sklearn in .ci/system-deps)`).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout) as {
      cases: {
        fpr: number[];
        tpr: number[];
        thresholds: number[];
        auroc: number;
        positives: number;
        negatives: number;
      }[];
    };
    cases.forEach((c, i) => {
      const ours = gateRoc(c.scores, c.labels);
      const r = ref.cases[i]!;
      expect(ours.auroc, `case ${i} auroc`).toBeCloseTo(r.auroc, 12);
      expect(ours.points.map((p) => p.fpr)).toEqual(r.fpr.map((v) => expect.closeTo(v, 12)));
      expect(ours.points.map((p) => p.tpr)).toEqual(r.tpr.map((v) => expect.closeTo(v, 12)));
      expect(ours.points.slice(1).map((p) => p.threshold)).toEqual(r.thresholds);
      expect([ours.positives, ours.negatives]).toEqual([r.positives, r.negatives]);
    });
  });
});
