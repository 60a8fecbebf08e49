import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend, tf } from '@multichexnet/core';
import { createOptimizer, OptimizerConfigSchema } from '@multichexnet/trainer';
import { applyFreeze, releaseFreeze, scaleLearningRates, splitClsPath, FREEZE_MODES } from '../src/index';
import { randomImages, smallModel } from './helpers';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('splitClsPath', () => {
  it('theta_feats = encoder parameters + the cls hidden layer; theta_dec = the logits layer; no BatchNorm statistics', () => {
    const model = smallModel(1, { hidden: 8 });
    const s = splitClsPath(model);
    expect(s.decLayer).toBe('cls_logits');
    expect(s.featLayers).toEqual(['cls_hidden']);
    expect(s.dec.sort()).toEqual(['cls/cls_logits/bias', 'cls/cls_logits/kernel']);
    expect(s.feats.filter((k) => k.startsWith('cls/')).sort()).toEqual([
      'cls/cls_hidden/bias',
      'cls/cls_hidden/kernel',
    ]);
    const encoderParams = s.feats.filter((k) => k.startsWith('encoder/'));
    // Every encoder variable that a fully trainable model optimises, and nothing else (moving mean / variance
    // excluded).
    const all = model.trainableVariables().map((v) => v.key);
    expect(encoderParams.sort()).toEqual(all.filter((k) => k.startsWith('encoder/')).sort());
    expect(encoderParams.some((k) => /moving/.test(k))).toBe(false);
    model.dispose();
  });

  it('without a hidden layer theta_feats is the encoder alone', () => {
    const model = smallModel(2, { hidden: 0 });
    const s = splitClsPath(model);
    expect(s.featLayers).toEqual([]);
    expect(s.feats.every((k) => k.startsWith('encoder/'))).toBe(true);
    model.dispose();
  });
});

describe('applyFreeze', () => {
  it('leaves exactly the right variables trainable for each mode', () => {
    const model = smallModel(3, { hidden: 8 });
    const s = splitClsPath(model);
    const hidden = s.feats.filter((k) => k.startsWith('cls/'));
    const encoder = s.feats.filter((k) => k.startsWith('encoder/'));
    const expected: Record<(typeof FREEZE_MODES)[number], string[]> = {
      'feats-frozen': [...s.dec],
      'encoder-frozen': [...hidden, ...s.dec],
      'all-trainable': [...encoder, ...hidden, ...s.dec],
    };
    for (const mode of FREEZE_MODES) {
      const f = applyFreeze(model, mode);
      expect(f.trainable.sort()).toEqual(expected[mode].sort());
      expect(
        model
          .trainableVariables()
          .map((v) => v.key)
          .sort(),
      ).toEqual(expected[mode].sort());
      expect(f.fresh.sort()).toEqual([...s.dec].sort());
      expect(f.transferred.sort()).toEqual(expected[mode].filter((k) => !s.dec.includes(k)).sort());
      expect(model.heads.det!.trainable || model.heads.seg!.trainable).toBe(false);
    }
    // A kept decoder is transferred too (it gets the multiplier).
    expect(applyFreeze(model, 'feats-frozen', { decoderTransferred: true }).transferred.sort()).toEqual(
      [...s.dec].sort(),
    );
    // Block-level toggles (the trainer's setTrainable) do not undo the layer-level freeze.
    applyFreeze(model, 'feats-frozen');
    model.setTrainable({ cls: true });
    expect(
      model
        .trainableVariables()
        .map((v) => v.key)
        .sort(),
    ).toEqual([...s.dec].sort());
    releaseFreeze(model);
    expect(model.trainableVariables().length).toBeGreaterThan(expected['all-trainable'].length);
    expect(() => applyFreeze(model, 'nothing' as never)).toThrow(DataError);
    model.dispose();
  });
});

describe('scaleLearningRates', () => {
  it('updates each variable with learningRate x its multiplier (SGD: delta = -lr m g), 0 leaves it alone', () => {
    const a = tf.variable(tf.tensor1d([1, 2, 3]));
    const b = tf.variable(tf.tensor1d([4, 5]));
    const c = tf.variable(tf.tensor1d([6]));
    const vars = [
      { key: 'encoder/conv/kernel', variable: a },
      { key: 'cls/cls_logits/kernel', variable: b },
      { key: 'det/x', variable: c },
    ];
    const inner = createOptimizer(OptimizerConfigSchema.parse({ type: 'sgd', learningRate: 1, momentum: 0 }));
    const opt = scaleLearningRates(inner, (k) => (k.startsWith('encoder/') ? 0.1 : k.startsWith('det/') ? 0 : 1));
    const grads = new Map<string, tf.Tensor>([
      ['encoder/conv/kernel', tf.tensor1d([10, 20, 30])],
      ['cls/cls_logits/kernel', tf.tensor1d([1, -1])],
      ['det/x', tf.tensor1d([5])],
    ]);
    const n0 = tf.memory().numTensors;
    opt.apply(vars, grads, 0.5);
    expect(tf.memory().numTensors).toBe(n0);
    expect(Array.from(a.dataSync())).toEqual(
      [1 - 0.5 * 0.1 * 10, 2 - 0.5 * 0.1 * 20, 3 - 0.5 * 0.1 * 30].map(Math.fround),
    );
    expect(Array.from(b.dataSync())).toEqual([3.5, 5.5]);
    expect(Array.from(c.dataSync())).toEqual([6]);
    expect(opt.getState().steps).toEqual({ 'encoder/conv/kernel': 1, 'cls/cls_logits/kernel': 1 });
    expect(() => scaleLearningRates(inner, () => Number.NaN).apply(vars, grads, 1)).toThrow(/multiplier/);
    opt.dispose();
    tf.dispose([a, b, c, ...grads.values()]);
  });

  it('Adam through the wrapper equals Adam at the scaled rate (same state per key)', () => {
    const cfg = OptimizerConfigSchema.parse({ type: 'adam', learningRate: 1e-2 });
    const v1 = tf.variable(tf.tensor1d([0.5, -0.5]));
    const v2 = tf.variable(tf.tensor1d([0.5, -0.5]));
    const wrapped = scaleLearningRates(createOptimizer(cfg), () => 0.25);
    const plain = createOptimizer(cfg);
    for (let i = 0; i < 3; i++) {
      const g = tf.tensor1d([0.3 * (i + 1), -0.1]);
      wrapped.apply([{ key: 'k', variable: v1 }], new Map([['k', g]]), 1e-2);
      plain.apply([{ key: 'k', variable: v2 }], new Map([['k', g]]), 1e-2 * 0.25);
      g.dispose();
    }
    expect(Array.from(v1.dataSync())).toEqual(Array.from(v2.dataSync()));
    wrapped.dispose();
    plain.dispose();
    tf.dispose([v1, v2]);
  });
});

describe('frozen blocks in training mode', () => {
  it('a forward pass in training mode leaves frozen BatchNorm statistics alone', () => {
    const model = smallModel(4);
    applyFreeze(model, 'encoder-frozen');
    const stats = model.encoder.weights.filter((w) =>
      /moving/.test((w as unknown as { originalName: string }).originalName),
    );
    expect(stats.length).toBeGreaterThan(0);
    const before = stats.map((w) => Array.from(w.read().dataSync()));
    const x = randomImages(2, 64, 4);
    const out = model.forward(x, { training: true });
    tf.dispose(Object.values(out) as tf.Tensor[]);
    expect(stats.map((w) => Array.from(w.read().dataSync()))).toEqual(before);
    x.dispose();
    model.dispose();
  });
});
