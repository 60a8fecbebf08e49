import { describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, ConfigError, DataError, tf } from '@multichexnet/core';
import { createGate } from '../src/index';
import { SMALL_FEATURE_CHANNELS as CHANNELS, disposeFeatures, randomFeatures } from '@multichexnet/core/testing';

const classNames = [...CHESTXRAY14_CLASSES];
const PNA = classNames.indexOf('Pneumonia');
const PTX = classNames.indexOf('Pneumothorax');

function row(pna: number, ptx: number, rest = 0.9): number[] {
  const r = classNames.map(() => rest);
  r[PNA] = pna;
  r[PTX] = ptx;
  return r;
}

describe('cls-path gate', () => {
  const cfg = { kind: 'cls-path' as const, classes: ['Pneumonia', 'Pneumothorax'], classNames, threshold: 0.5 };

  it('takes the max probability of the gate classes and ignores the other classes', () => {
    const gate = createGate(cfg);
    expect(gate.reads).toBe('probabilities');
    const d = gate.decide([row(0.2, 0.7), row(0.1, 0.3), row(0.5, 0.0), row(0.49, 0.49)]);
    expect(d.map((x) => x.probability)).toEqual([0.7, 0.3, 0.5, 0.49].map(Math.fround));
    expect(d.map((x) => x.positive)).toEqual([true, false, true, false]);
  });

  it('reads tensors and plain rows alike, without leaking', () => {
    const gate = createGate(cfg);
    const rows = [row(0.2, 0.7), row(0.1, 0.3)];
    const t = tf.tensor2d(rows);
    const before = tf.memory().numTensors;
    expect(gate.decide(t)).toEqual(gate.decide(rows.map((r) => Float32Array.from(r))));
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });

  it('reduce any uses per-class thresholds', () => {
    const gate = createGate({ ...cfg, reduce: 'any', classThresholds: { Pneumonia: 0.2, Pneumothorax: 0.8 } });
    const d = gate.decide([row(0.25, 0.1), row(0.1, 0.7), row(0.1, 0.85)]);
    expect(d.map((x) => x.positive)).toEqual([true, false, true]);
    expect(d[1]!.probability).toBeCloseTo(0.7, 6);
  });

  it('follows setThreshold and reports it in its config', () => {
    const gate = createGate(cfg);
    gate.setThreshold(0.25);
    expect(gate.threshold).toBe(0.25);
    expect(gate.config).toMatchObject({ kind: 'cls-path', threshold: 0.25 });
    expect(gate.decide([row(0.3, 0.0)])[0]!.positive).toBe(true);
    expect(() => gate.setThreshold(1.5)).toThrow(DataError);
  });

  it('refuses features, wrong row lengths and NaN probabilities', () => {
    const gate = createGate(cfg);
    const f = randomFeatures(1, 64, 1);
    expect(() => gate.decide(f)).toThrow(/reads class probabilities/);
    disposeFeatures(f);
    expect(() => gate.decide([[0.1, 0.2]])).toThrow(/wrong length/);
    expect(() => gate.decide([row(Number.NaN, 0.1)])).toThrow(/NaN/);
  });

  it('names the field of a bad config', () => {
    expect(() => createGate({ ...cfg, classes: ['Pneumonia', 'Covid'] })).toThrow(ConfigError);
    expect(() => createGate({ ...cfg, classes: ['Pneumonia', 'Covid'] })).toThrow(
      /classes\.1: must be one of classNames/,
    );
    expect(() => createGate({ ...cfg, threshold: 2 })).toThrow(/threshold: must be <= 1/);
    expect(() => createGate({ kind: 'softmax' } as never)).toThrow(/kind/);
  });
});

describe('binary-head gate', () => {
  it('reads features through its own head and thresholds the sigmoid', () => {
    const gate = createGate({ kind: 'binary-head', head: { featureChannels: CHANNELS, seed: 4 }, threshold: 0.5 });
    expect(gate.reads).toBe('features');
    expect(gate.head).not.toBeNull();
    const f = randomFeatures(4, 64, 3);
    const before = tf.memory().numTensors;
    const d = gate.decide(f);
    expect(tf.memory().numTensors).toBe(before);
    const logits = gate.head!.apply(f);
    const expected = Array.from(tf.sigmoid(logits).dataSync());
    expect(d.map((x) => x.probability)).toEqual(expected);
    expect(d.map((x) => x.positive)).toEqual(expected.map((p) => p >= 0.5));
    gate.setThreshold(0);
    expect(gate.decide(f).every((x) => x.positive)).toBe(true);
    expect(() => gate.decide([[0.1]])).toThrow(/reads encoder features/);
    logits.dispose();
    disposeFeatures(f);
    gate.dispose();
  });
});
