import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataError, auroc, createRng, type Rng } from '@multichexnet/core';
import { rsnaMeanAP, type DetectionImage } from '@multichexnet/head-det';
import {
  pairedBootstrap,
  pairedBootstrapOverSeeds,
  quantileSorted,
  summariseSeeds,
  verdictOf,
  type SetMetric,
} from '../src/index';

const mean: SetMetric<number> = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Paired per-image scores: a shared per-image difficulty, A better by `delta` in expectation. */
function pairedScores(rng: Rng, n: number, delta: number, noise = 0.5): { a: number[]; b: number[] } {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const hard = rng.normal();
    a.push(hard + delta + rng.normal(0, noise));
    b.push(hard + rng.normal(0, noise));
  }
  return { a, b };
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26, error < 1.5e-7): enough for a true AUROC. */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    t *
      (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
      Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

interface Scored {
  label: number;
  score: number;
}
const aurocOf: SetMetric<Scored> = (r) =>
  auroc(
    r.map((x) => x.label),
    r.map((x) => x.score),
  );

/** Two binormal scorers on the same images: AUROC = Phi(d / sqrt 2) each, their noise correlated by `rho`. */
function binormalPair(rng: Rng, n: number, dA: number, dB: number, rho = 0.5): { a: Scored[]; b: Scored[] } {
  const a: Scored[] = [];
  const b: Scored[] = [];
  for (let i = 0; i < n; i++) {
    const label = rng.bernoulli(0.4) ? 1 : 0;
    const shared = rng.normal();
    a.push({ label, score: label * dA + Math.sqrt(rho) * shared + Math.sqrt(1 - rho) * rng.normal() });
    b.push({ label, score: label * dB + Math.sqrt(rho) * shared + Math.sqrt(1 - rho) * rng.normal() });
  }
  return { a, b };
}

describe('pairedBootstrap', () => {
  it('covers a known mean difference in about 95% of repeated experiments', () => {
    const rng = createRng('coverage-mean');
    const delta = 0.1;
    let covered = 0;
    const reps = 200;
    for (let r = 0; r < reps; r++) {
      const { a, b } = pairedScores(rng, 60, delta);
      const ci = pairedBootstrap(a, b, mean, { seed: r, resamples: 500 });
      if (ci.low <= delta && delta <= ci.high) covered++;
    }
    expect(covered / reps).toBeGreaterThan(0.9);
    expect(covered / reps).toBeLessThan(0.99);
  });

  it('covers a known AUROC difference (a set metric, not a per-image mean) in most repeated experiments', () => {
    const rng = createRng('coverage-auroc');
    const truth = normalCdf(1.2 / Math.SQRT2) - normalCdf(0.9 / Math.SQRT2);
    let covered = 0;
    const reps = 60;
    for (let r = 0; r < reps; r++) {
      const { a, b } = binormalPair(rng, 120, 1.2, 0.9);
      const ci = pairedBootstrap(a, b, aurocOf, { seed: r, resamples: 300 });
      if (ci.low <= truth && truth <= ci.high) covered++;
    }
    expect(covered / reps).toBeGreaterThan(0.85);
  });

  it('identical models: the interval is 0 and the verdict no difference; equally good models: 0 inside', () => {
    const rng = createRng('identical');
    const { a } = pairedScores(rng, 100, 0);
    const same = pairedBootstrap(a, [...a], mean, { seed: 1 });
    expect([same.difference, same.low, same.high]).toEqual([0, 0, 0]);
    expect(same.verdict).toBe('no difference at 95%');
    const { a: x, b: y } = binormalPair(rng, 300, 1, 1);
    const equal = pairedBootstrap(x, y, aurocOf, { seed: 2 });
    expect(equal.low).toBeLessThan(0);
    expect(equal.high).toBeGreaterThan(0);
    expect(equal.verdict).toBe('no difference at 95%');
    expect(equal.resamples).toBe(2000); // the default
  });

  it('a clear difference gives better, the reverse worse, and a lower-is-better metric flips both', () => {
    const { a, b } = pairedScores(createRng('clear'), 200, 0.5);
    const ab = pairedBootstrap(a, b, mean, { seed: 3 });
    expect(ab.low).toBeGreaterThan(0);
    expect(ab.verdict).toBe('better');
    expect(pairedBootstrap(b, a, mean, { seed: 3 }).verdict).toBe('worse');
    expect(pairedBootstrap(a, b, mean, { seed: 3, higherIsBetter: false }).verdict).toBe('worse');
    expect(pairedBootstrap(a, b, mean, { seed: 3, confidence: 0.9 }).confidence).toBe(0.9);
    expect(verdictOf(-0.1, 0.2, 0.9)).toBe('no difference at 90%');
    expect(verdictOf(0, 0.2, 0.95)).toBe('no difference at 95%'); // 0 on the edge is not excluded
  });

  it('takes any metric of a set of per-image results: the RSNA mAP of detections', () => {
    const rng = createRng('map');
    const box = (x: number) => ({ x, y: 10, width: 40, height: 40 });
    const images: { a: DetectionImage; b: DetectionImage }[] = Array.from({ length: 80 }, () => {
      const positive = rng.bernoulli(0.5);
      const truth = positive ? [box(rng.int(0, 100))] : [];
      // A finds most objects; B finds fewer and raises false alarms.
      const a = positive && rng.bernoulli(0.9) ? [{ ...box(truth[0]!.x + rng.int(-3, 4)), score: 0.9 }] : [];
      const b =
        positive && rng.bernoulli(0.5)
          ? [{ ...box(truth[0]!.x + rng.int(-3, 4)), score: 0.8 }]
          : !positive && rng.bernoulli(0.3)
            ? [{ ...box(50), score: 0.6 }]
            : [];
      return { a: { truth, predictions: a }, b: { truth, predictions: b } };
    });
    const ci = pairedBootstrap(
      images.map((i) => i.a),
      images.map((i) => i.b),
      (r) => rsnaMeanAP(r),
      { seed: 'map', resamples: 500 },
    );
    expect(ci.difference).toBeCloseTo(rsnaMeanAP(images.map((i) => i.a)) - rsnaMeanAP(images.map((i) => i.b)), 12);
    expect(ci.verdict).toBe('better');
  });

  it('counts resamples where the metric is undefined and leaves them out', () => {
    // 2 positives among 12 images: some resamples hold no positive and AUROC is NaN there.
    const a: Scored[] = Array.from({ length: 12 }, (_, i) => ({ label: i < 2 ? 1 : 0, score: i < 2 ? 0.9 : i / 20 }));
    const b = a.map((x, i) => ({ label: x.label, score: ((i * 7) % 12) / 12 }));
    const ci = pairedBootstrap(a, b, aurocOf, { seed: 5, resamples: 400 });
    expect(ci.undefinedResamples).toBeGreaterThan(0);
    expect(ci.undefinedResamples).toBeLessThan(400);
    expect(Number.isFinite(ci.low) && Number.isFinite(ci.high)).toBe(true);
  });

  it('is a pure function of its seed', () => {
    const { a, b } = pairedScores(createRng('seeded'), 50, 0.1);
    expect(pairedBootstrap(a, b, mean, { seed: 9 })).toEqual(pairedBootstrap(a, b, mean, { seed: 9 }));
    expect(pairedBootstrap(a, b, mean, { seed: 9 }).low).not.toBe(pairedBootstrap(a, b, mean, { seed: 10 }).low);
  });

  it('rejects unpaired or empty inputs, bad settings and a metric undefined on the full set', () => {
    expect(() => pairedBootstrap([1, 2], [1], mean, { seed: 1 })).toThrow(DataError);
    expect(() => pairedBootstrap([1, 2], [1], mean, { seed: 1 })).toThrow(
      /field b\): expected 2 results of B \(as many as of A\), found 1/,
    );
    expect(() => pairedBootstrap([], [], mean, { seed: 1 })).toThrow(/at least one test image/);
    expect(() => pairedBootstrap([1], [1], mean, { seed: 1, resamples: 0 })).toThrow(/field resamples/);
    expect(() => pairedBootstrap([1], [1], mean, { seed: 1, confidence: 95 })).toThrow(/field confidence/);
    expect(() =>
      pairedBootstrap<Scored>([{ label: 1, score: 1 }], [{ label: 1, score: 0 }], aurocOf, { seed: 1 }),
    ).toThrow(/undefined on the full test set/);
  });
});

describe('pairedBootstrapOverSeeds', () => {
  /** S seeds of n paired images; seed s trains a model whose true advantage is delta + tau * z_s. */
  function seededRuns(rng: Rng, seeds: number, n: number, delta: number, tau: number): { a: number[]; b: number[] }[] {
    return Array.from({ length: seeds }, () => pairedScores(rng, n, delta + tau * rng.normal()));
  }

  it('the estimate is the mean of the per-seed differences, the interval around it', () => {
    const runs = seededRuns(createRng('estimate'), 4, 30, 0.2, 0.1);
    const ci = pairedBootstrapOverSeeds(runs, mean, { seed: 1, resamples: 200 });
    expect(ci.difference).toBeCloseTo(runs.reduce((s, r) => s + mean(r.a) - mean(r.b), 0) / 4, 12);
    expect(ci.low).toBeLessThan(ci.difference);
    expect(ci.high).toBeGreaterThan(ci.difference);
    const one = pairedBootstrapOverSeeds(runs.slice(0, 1), mean, { seed: 2, resamples: 300 });
    expect(one.difference).toBeCloseTo(mean(runs[0]!.a) - mean(runs[0]!.b), 12);
  });

  it('carries the seed-to-seed variation that pooling the images of all seeds ignores', () => {
    const rng = createRng('two-level');
    const delta = 0.2;
    let twoLevel = 0;
    let pooled = 0;
    let noSeedEffect = 0;
    const reps = 100;
    for (let r = 0; r < reps; r++) {
      const runs = seededRuns(rng, 5, 60, delta, 0.2);
      const ci = pairedBootstrapOverSeeds(runs, mean, { seed: r, resamples: 200 });
      if (ci.low <= delta && delta <= ci.high) twoLevel++;
      const all = pairedBootstrap(
        runs.flatMap((x) => x.a),
        runs.flatMap((x) => x.b),
        mean,
        { seed: r, resamples: 200 },
      );
      if (all.low <= delta && delta <= all.high) pooled++;
      const calm = pairedBootstrapOverSeeds(seededRuns(rng, 5, 60, delta, 0), mean, { seed: r, resamples: 200 });
      if (calm.low <= delta && delta <= calm.high) noSeedEffect++;
    }
    // Seed variation dominating, 5 seeds: below the nominal 95% (a bootstrap of 5 values understates their
    // spread), far above pooling the images, which ignores it.
    expect(twoLevel / reps).toBeGreaterThan(0.72);
    expect(pooled / reps).toBeLessThan(0.7);
    // No seed variation: the image level counted twice makes the interval conservative.
    expect(noSeedEffect / reps).toBeGreaterThan(0.95);
  });

  it('rejects no seeds and unpaired seeds, naming the seed', () => {
    expect(() => pairedBootstrapOverSeeds([], mean, { seed: 1 })).toThrow(/at least one seed/);
    expect(() =>
      pairedBootstrapOverSeeds(
        [
          { a: [1], b: [1] },
          { a: [1, 2], b: [1] },
        ],
        mean,
        { seed: 1 },
      ),
    ).toThrow(/field runs\[1\]\.b/);
  });
});

describe('summariseSeeds and quantileSorted', () => {
  it('mean, sample sd, NaN seeds left out and counted', () => {
    expect(summariseSeeds([1, 2, 3, 4])).toEqual({ mean: 2.5, sd: Math.sqrt(5 / 3), seeds: 4, undefinedSeeds: 0 });
    expect(summariseSeeds([0.5, Number.NaN])).toEqual({ mean: 0.5, sd: Number.NaN, seeds: 1, undefinedSeeds: 1 });
    expect(summariseSeeds([]).mean).toBeNaN();
  });

  it('interpolates linearly between order statistics', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(quantileSorted([1, 2, 3, 4], 1)).toBe(4);
    expect(quantileSorted([0, 10], 0.025)).toBeCloseTo(0.25, 12);
  });
});

// scipy.stats.bootstrap (paired=True, method='percentile') run by Debian's python3-scipy once for this file. The
// two draw different resamples, so the bounds agree up to Monte Carlo error: with 50000 resamples each, a 2.5% or
// 97.5% quantile has a Monte Carlo sd of about 0.012 bootstrap standard errors (sqrt(0.025 * 0.975 / 50000) /
// phi(1.96)), their difference about 0.017; the tolerance is 0.07, four of those, tight enough to tell a 95% from a
// 94% interval (0.08 apart).
const PYTHON = '/usr/bin/python3';
const REFERENCE = fileURLToPath(new URL('./reference/bootstrap_reference.py', import.meta.url));

describe('agreement with scipy', () => {
  it('percentile interval of a paired mean difference, and mean / sd over seeds', () => {
    const rng = createRng('scipy-bootstrap');
    const resamples = 50000;
    const cases = [40, 120, 300].map((n, k) => ({ ...pairedScores(rng, n, [0.05, 0.2, 0][k]!), resamples, seed: k }));
    // A skewed case: per-image Dice-like scores in [0, 1] with many exact ones.
    const skewA = Array.from({ length: 100 }, () => (rng.bernoulli(0.6) ? 1 : rng.next() ** 2));
    cases.push({ a: skewA, b: skewA.map((v) => (rng.bernoulli(0.2) ? rng.next() : v)), resamples, seed: 3 });
    const seedValues = [
      [0.71, 0.69, 0.74, 0.7, 0.72],
      [1, 2, 3, 4],
      [0.5, 0.5],
    ];
    const res = spawnSync(PYTHON, [REFERENCE], { input: JSON.stringify({ cases, seedValues }), encoding: 'utf8' });
    expect(res.error, `${PYTHON} with scipy is needed (python3-scipy in .ci/system-deps)`).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout) as {
      cases: { difference: number; low: number; high: number }[];
      seedSummaries: { mean: number; sd: number }[];
    };
    cases.forEach((c, i) => {
      const ours = pairedBootstrap(c.a, c.b, mean, { seed: i, resamples });
      const d = c.a.map((v, j) => v - c.b[j]!);
      const se = Math.sqrt(d.reduce((s, v) => s + (v - mean(d)) ** 2, 0) / (d.length - 1) / d.length);
      expect(ours.difference).toBeCloseTo(ref.cases[i]!.difference, 12);
      expect(Math.abs(ours.low - ref.cases[i]!.low) / se, `case ${i} low`).toBeLessThan(0.07);
      expect(Math.abs(ours.high - ref.cases[i]!.high) / se, `case ${i} high`).toBeLessThan(0.07);
    });
    seedValues.forEach((v, i) => {
      const s = summariseSeeds(v);
      expect(s.mean).toBeCloseTo(ref.seedSummaries[i]!.mean, 12);
      expect(s.sd).toBeCloseTo(ref.seedSummaries[i]!.sd, 12);
    });
  });
});
