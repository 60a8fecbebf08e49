import { describe, expect, it } from 'vitest';
import { DataError, createRng, initBackend, tf } from '@multichexnet/core';
import {
  checkLevels,
  enoughForRate,
  fitOodStatistics,
  oodScore,
  oodThreshold,
  outOfFoldScores,
  pooledFeatures,
} from '../src/index';

/** Rows from a Gaussian with `k` strong directions and isotropic noise elsewhere, D dimensions. */
function gaussianRows(n: number, D: number, k: number, seed: string, shift = 0): Float32Array[] {
  const rng = createRng(seed);
  const dirs = Array.from({ length: k }, (_, i) => Array.from({ length: D }, (_, j) => (j === i ? 1 : 0)));
  return Array.from({ length: n }, () => {
    const r = Float32Array.from({ length: D }, () => 1 + shift + rng.normal(0, 0.1));
    dirs.forEach((d, i) => {
      const a = rng.normal(0, 2 + i);
      d.forEach((v, j) => (r[j]! += a * v));
    });
    return r;
  });
}

describe('fitOodStatistics / oodScore', () => {
  it('finds the strong directions, scores held-out rows about 1 and shifted rows far above', () => {
    const stats = fitOodStatistics(gaussianRows(400, 24, 3, 'fit'), ['c5'], { components: 3 });
    expect(stats.components).toHaveLength(3);
    expect(stats.variances[0]!).toBeGreaterThan(stats.variances[2]!);
    expect(stats.variances[2]!).toBeGreaterThan(10 * stats.residualVariance);
    expect(stats.residualVariance).toBeCloseTo(0.01, 2);
    const held = gaussianRows(300, 24, 3, 'held').map((r) => oodScore(r, stats));
    const mean = held.reduce((a, b) => a + b, 0) / held.length;
    expect(mean).toBeGreaterThan(0.85);
    expect(mean).toBeLessThan(1.15);
    const shifted = gaussianRows(50, 24, 3, 'shifted', 0.3).map((r) => oodScore(r, stats));
    expect(Math.min(...shifted)).toBeGreaterThan(Math.max(...held));
  });

  it('fits with fewer films than dimensions (components capped at count - 1; by default count / 10)', () => {
    expect(fitOodStatistics(gaussianRows(10, 64, 2, 'few'), ['c4', 'c5']).components).toHaveLength(1);
    expect(fitOodStatistics(gaussianRows(400, 64, 2, 'many'), ['c4', 'c5']).components).toHaveLength(32);
    const stats = fitOodStatistics(gaussianRows(10, 64, 2, 'few'), ['c4', 'c5'], { components: 20 });
    expect(stats.components).toHaveLength(9);
    expect(stats.components[0]).toHaveLength(64);
    expect(Number.isFinite(oodScore(gaussianRows(1, 64, 2, 'x')[0]!, stats))).toBe(true);
  });

  it('refuses too few films, ragged or non-finite rows, and bad levels', () => {
    expect(() => fitOodStatistics(gaussianRows(2, 8, 1, 'two'), ['c5'])).toThrow(/at least 3 training films/);
    expect(() => fitOodStatistics([...gaussianRows(3, 8, 1, 'r'), new Float32Array(7)], ['c5'])).toThrow(/rows\[3\]/);
    const bad = gaussianRows(4, 8, 1, 'nan');
    bad[2]![5] = Number.NaN;
    expect(() => fitOodStatistics(bad, ['c5'])).toThrow(/rows\[2\]\[5\]/);
    expect(() => checkLevels(['c5', 'c9'])).toThrow(DataError);
    expect(() => checkLevels([])).toThrow(/distinct levels/);
    const stats = fitOodStatistics(gaussianRows(5, 8, 1, 'ok'), ['c5']);
    expect(() => oodScore(new Float32Array(7), stats)).toThrow(/8 values/);
  });
});

describe('outOfFoldScores', () => {
  it('scores every row without its fold: like held-out rows, above the in-sample scores', () => {
    const rows = gaussianRows(60, 24, 3, 'oof');
    const stats = fitOodStatistics(rows, ['c5'], { components: 6 });
    const inSample = rows.map((r) => oodScore(r, stats));
    const oof = outOfFoldScores(rows, ['c5'], 5, { components: 6 });
    expect(oof).toHaveLength(60);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(oof)).toBeGreaterThan(mean(inSample));
    expect(enoughForRate(49, 0.02)).toBe(true);
    expect(enoughForRate(48, 0.02)).toBe(false);
  });
});

describe('oodThreshold', () => {
  it('is the split-conformal quantile, and the maximum when too few scores', () => {
    const scores = Array.from({ length: 99 }, (_, i) => i + 1);
    expect(oodThreshold(scores, 0.05)).toEqual({ threshold: 95, guaranteed: true });
    expect(oodThreshold([3, 1, 2], 0.02)).toEqual({ threshold: 3, guaranteed: false });
    expect(() => oodThreshold([], 0.02)).toThrow(/at least one validation film/);
    expect(() => oodThreshold([1], 0)).toThrow(/targetFalseRefusal/);
  });
});

describe('pooledFeatures', () => {
  it('averages each level over H and W and concatenates, leaking no tensor', async () => {
    await initBackend('cpu');
    const f = {
      c2: tf.ones([2, 8, 8, 3]),
      c3: tf.ones([2, 4, 4, 2]),
      c4: tf.fill([2, 2, 2, 4], 2),
      c5: tf.fill([2, 1, 1, 5], 3),
    } as never;
    const before = tf.memory().numTensors;
    const p = pooledFeatures(f, ['c4', 'c5']);
    expect(p.shape).toEqual([2, 9]);
    expect(Array.from(p.dataSync().slice(0, 9))).toEqual([2, 2, 2, 2, 3, 3, 3, 3, 3]);
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(f as Record<string, tf.Tensor>));
  });
});
