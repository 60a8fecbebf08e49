import { describe, expect, it } from 'vitest';
import { logitOf, scaleProbability, unscaleProbability } from '../src/index';

describe('temperature scaling of probabilities', () => {
  it('scales logit(p) by 1 / T, keeps the order, and inverts', () => {
    expect(scaleProbability(0.5, 3)).toBe(0.5);
    expect(scaleProbability(0.99, 2)).toBeCloseTo(1 / (1 + Math.exp(-Math.log(99) / 2)), 12);
    expect(scaleProbability(0.2, 1)).toBe(0.2);
    const ps = [0.001, 0.1, 0.4, 0.6, 0.97];
    const scaled = ps.map((p) => scaleProbability(p, 2.5));
    expect(scaled).toEqual([...scaled].sort((a, b) => a - b));
    for (const p of ps) expect(unscaleProbability(scaleProbability(p, 0.7), 0.7)).toBeCloseTo(p, 10);
  });

  it('clamps saturated float32 probabilities to a finite logit', () => {
    expect(logitOf(1)).toBe(16.6);
    expect(logitOf(0)).toBe(-16.6);
    expect(logitOf(Number.NaN)).toBe(-16.6);
    expect(Number.isFinite(scaleProbability(1, 2))).toBe(true);
    expect(scaleProbability(1, 2)).toBeLessThan(1);
  });
});
