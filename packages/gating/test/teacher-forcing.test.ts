import { describe, expect, it } from 'vitest';
import { ConfigError } from '@multichexnet/core';
import { createTeacherForcing, routeSamples, gateTargets } from '../src/index';

describe('TeacherForcing', () => {
  it('routes by ground truth in about p of the batches', () => {
    const n = 4000;
    for (const p of [0.9, 0.5, 0.2]) {
      const tfp = createTeacherForcing({ p, seed: 3 });
      let truth = 0;
      for (let step = 0; step < n; step++) if (tfp.decide(step, 'mtl') === 'ground-truth') truth++;
      // Binomial(n, p): 4 standard deviations.
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(truth / n - p)).toBeLessThan(4 * sd);
    }
  });

  it('is a pure function of (seed, stream, step), and logs every draw', () => {
    const a = createTeacherForcing({ p: 0.5, seed: 11 });
    const b = createTeacherForcing({ p: 0.5, seed: 11 });
    const forward = Array.from({ length: 50 }, (_, s) => a.decide(s, 'joint'));
    // Another order of calls (a resumed run starting at step 25) gives the same draws.
    const resumed = [
      ...Array.from({ length: 25 }, (_, s) => b.decide(25 + s, 'joint')),
      ...Array.from({ length: 25 }, (_, s) => b.decide(s, 'joint')),
    ];
    expect([...resumed.slice(25), ...resumed.slice(0, 25)]).toEqual(forward);
    expect(a.history).toHaveLength(50);
    expect(a.history[7]).toEqual({ stream: 'joint', step: 7, source: forward[7] });
    const other = createTeacherForcing({ p: 0.5, seed: 12 });
    expect(Array.from({ length: 50 }, (_, s) => other.decide(s, 'joint'))).not.toEqual(forward);
    const otherStream = Array.from({ length: 50 }, (_, s) => a.decide(s, 'alt'));
    expect(otherStream).not.toEqual(forward);
  });

  it('p = 1 always uses the ground truth, p = 0 always the gate', () => {
    const always = createTeacherForcing({ p: 1, seed: 1 });
    const never = createTeacherForcing({ p: 0, seed: 1 });
    for (let s = 0; s < 200; s++) {
      expect(always.decide(s)).toBe('ground-truth');
      expect(never.decide(s)).toBe('gate');
    }
  });

  it('names the field of a bad config and refuses bad steps', () => {
    expect(() => createTeacherForcing({ p: 1.2 })).toThrow(ConfigError);
    expect(() => createTeacherForcing({ p: 1.2 })).toThrow(/p: must be <= 1; received 1.2/);
    expect(() => createTeacherForcing({ q: 1 } as never)).toThrow(/unknown key/);
    expect(() => createTeacherForcing().decide(-1)).toThrow(/non-negative integer/);
  });
});

describe('routeSamples', () => {
  const input = {
    truthPositive: [true, false, true, false, true],
    gatePositive: [true, true, false, false, true],
    labeled: [true, true, true, true, false],
  };

  it('ground truth: the labeled positives with their targets', () => {
    expect(routeSamples('ground-truth', input)).toEqual({
      source: 'ground-truth',
      indices: [0, 2],
      targets: ['truth', 'truth'],
      falsePositives: [],
      falseNegatives: [],
    });
  });

  it('gate: false positives as negatives, false negatives dropped', () => {
    expect(routeSamples('gate', input)).toEqual({
      source: 'gate',
      indices: [0, 1],
      targets: ['truth', 'empty'],
      falsePositives: [1],
      falseNegatives: [2],
    });
  });

  it('treats every sample as labeled by default and checks lengths', () => {
    expect(routeSamples('gate', { truthPositive: [true], gatePositive: [true] }).indices).toEqual([0]);
    expect(() => routeSamples('gate', { truthPositive: [true], gatePositive: [true, false] })).toThrow(
      /differ in length/,
    );
  });
});

describe('gateTargets', () => {
  it('is 1 for any positive gate class, 0 for known negatives, NaN without a label', () => {
    const names = ['Pneumonia', 'Pneumothorax', 'Effusion'];
    const t = gateTargets(
      [
        [1, Number.NaN, 0],
        [0, Number.NaN, 1],
        [Number.NaN, Number.NaN, 1],
        [0, 1, 0],
      ],
      names,
      ['Pneumonia', 'Pneumothorax'],
    );
    expect(Array.from(t)).toEqual([1, 0, Number.NaN, 1]);
    expect(() => gateTargets([[1]], ['A'], ['B'])).toThrow(/Gate class/);
  });
});
