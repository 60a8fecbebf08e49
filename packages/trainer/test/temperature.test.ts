import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataError, createRng, scaleProbability } from '@multichexnet/core';
import { fitHeadTemperatures, fitTemperature, reliability } from '../src/index';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Logits z ~ N(0, spread^2) and labels drawn from sigmoid(z / T): data whose best temperature is T. */
function overconfident(T: number, n: number, seed: string, spread = 3): { z: number[]; y: number[] } {
  const rng = createRng(seed);
  const z = Array.from({ length: n }, () => rng.normal(0, spread));
  return { z, y: z.map((v) => (rng.next() < sigmoid(v / T) ? 1 : 0)) };
}

describe('fitTemperature', () => {
  it.each([2.5, 0.5, 1])('recovers a known temperature %s from 40000 labelled logits', (T) => {
    const { z, y } = overconfident(T, 40000, `temperature-${T}`);
    const fit = fitTemperature(z, y);
    expect(fit.fitted).toBe(true);
    expect(fit.count).toBe(40000);
    expect(Math.abs(fit.temperature - T) / T).toBeLessThan(0.05);
    expect(fit.nllAfter).toBeLessThanOrEqual(fit.nllBefore + 1e-12);
  });

  it('lowers the log-loss of over-confident logits', () => {
    const over = overconfident(3, 5000, 'over');
    const f = fitTemperature(over.z, over.y);
    expect(f.nllAfter).toBeLessThan(f.nllBefore - 0.05);
  });

  it('skips NaN labels; one class only leaves T = 1 unfitted; bad labels and logits name their index', () => {
    const f = fitTemperature([2, -1, 5, 0.3], [1, Number.NaN, 1, 0]);
    expect(f.count).toBe(3);
    expect(fitTemperature([1, 2, 3], [1, 1, 1])).toMatchObject({ temperature: 1, fitted: false, count: 3 });
    expect(fitTemperature([], [])).toMatchObject({ temperature: 1, fitted: false, count: 0 });
    expect(() => fitTemperature([1, 2], [1, 2])).toThrow(DataError);
    expect(() => fitTemperature([1, 2], [1, 2])).toThrow(/logits\[1\]/);
    expect(() => fitTemperature([1, Number.NaN], [1, 0])).toThrow(/not finite/);
    expect(() => fitTemperature([1], [1, 0])).toThrow(/differ in length/);
  });

  it('the fitted temperature makes the scaled probabilities calibrated (ECE drops)', () => {
    const { z, y } = overconfident(2.5, 20000, 'ece-drop');
    const T = fitTemperature(z, y).temperature;
    const before = reliability(z.map(sigmoid), y).ece;
    const after = reliability(
      z.map((v) => scaleProbability(sigmoid(v), T)),
      y,
    ).ece;
    expect(after).toBeLessThan(before / 3);
    expect(after).toBeLessThan(0.02);
  });
});

const PYTHON = '/usr/bin/python3';
const REFERENCE = fileURLToPath(new URL('./reference/calibration_reference.py', import.meta.url));

describe('reliability and ECE', () => {
  it('agree with an independent numpy computation (bins, counts, rates, ECE)', () => {
    const rng = createRng('ece-numpy');
    const cases = [15, 10, 7, 1].map((bins, k) => {
      const n = [500, 3000, 50, 20][k]!;
      const p = Array.from({ length: n }, () => (k === 3 ? rng.uniform(0, 1) : rng.next() ** (k + 1)));
      const y = p.map((v) => (rng.next() < 0.1 ? Number.NaN : rng.next() < Math.min(1, v * 1.3) ? 1 : 0));
      if (k === 1) p[0] = 1;
      return { p, y, bins };
    });
    const res = spawnSync(PYTHON, [REFERENCE], {
      input: JSON.stringify({ cases: cases.map((c) => ({ ...c, y: c.y.map((v) => (Number.isNaN(v) ? null : v)) })) }),
      encoding: 'utf8',
    });
    expect(res.error, `${PYTHON} with numpy is needed (python3-numpy in .ci/system-deps)`).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout) as {
      cases: { ece: number; count: number; counts: number[]; mean_p: (number | null)[]; rate: (number | null)[] }[];
    };
    cases.forEach((c, i) => {
      const ours = reliability(c.p, c.y, c.bins);
      const r = ref.cases[i]!;
      expect(ours.count).toBe(r.count);
      expect(ours.bins.map((b) => b.count)).toEqual(r.counts);
      ours.bins.forEach((b, j) => {
        if (r.mean_p[j] === null) expect(b.meanProbability).toBeNaN();
        else expect(b.meanProbability).toBeCloseTo(r.mean_p[j]!, 12);
        if (r.rate[j] === null) expect(b.positiveRate).toBeNaN();
        else expect(b.positiveRate).toBeCloseTo(r.rate[j]!, 12);
      });
      expect(ours.ece).toBeCloseTo(r.ece, 12);
    });
  });

  it('is 0 for perfectly calibrated bins, NaN with no labels, and refuses probabilities outside [0, 1]', () => {
    expect(reliability([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0], 4).ece).toBeCloseTo(0, 12);
    expect(reliability([0.5], [Number.NaN]).ece).toBeNaN();
    expect(() => reliability([1.2], [1])).toThrow(/probabilities\[0\]/);
    expect(() => reliability([0.2], [1], 0)).toThrow(DataError);
  });
});

describe('fitHeadTemperatures', () => {
  it('fits a class with enough labels on its own and gives the others the pooled temperature', () => {
    const a = overconfident(3, 4000, 'class-a');
    const b = overconfident(0.5, 4000, 'class-b');
    const rare = { z: [2, -1, 0.5], y: [1, 0, 1] };
    const n = 4000;
    const logits = Array.from({ length: n }, (_, i) => Float32Array.from([a.z[i]!, b.z[i]!, i < 3 ? rare.z[i]! : 0]));
    const labels = Array.from({ length: n }, (_, i) =>
      Float32Array.from([a.y[i]!, b.y[i]!, i < 3 ? rare.y[i]! : Number.NaN]),
    );
    const t = fitHeadTemperatures({
      cls: { logits, labels, classes: ['A', 'B', 'Rare'] },
      det: { logits: [], labels: [] },
      seg: { logits: [], labels: [] },
      features: [],
    });
    expect(Math.abs(t.cls.A!.temperature - 3) / 3).toBeLessThan(0.08);
    expect(Math.abs(t.cls.B!.temperature - 0.5) / 0.5).toBeLessThan(0.08);
    expect(t.cls.A!.pooled).toBeUndefined();
    expect(t.cls.Rare!.pooled).toBe(true);
    expect(t.cls.Rare!.count).toBe(2 * n + 3);
    expect(t.det).toBeUndefined();
  });
});
