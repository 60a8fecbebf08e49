import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, DataError, tf } from '@multichexnet/core';
import { createEncoder } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createSegHead } from '@multichexnet/head-seg';
import { createGate } from '@multichexnet/gating';
import { buildModel, createMultiCheXNet, loadMultiCheXNet, ModelConfigSchema } from '../src/index';
import { differing, randomImages, smallModel, snapshot } from './helpers';

describe('createMultiCheXNet', () => {
  it('forward returns exactly the outputs of the heads given, with their shapes', () => {
    const encoder = createEncoder({ preset: 'densenet-tiny', initFeatures: 8, growthRate: 4, seed: 1 });
    const fc = encoder.featureChannels;
    const model = createMultiCheXNet({
      encoder,
      heads: {
        cls: createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels: fc }),
        seg: createSegHead({ featureChannels: fc, decoderChannels: 4 }),
      },
    });
    expect(model.tasks).toEqual(['cls', 'seg']);
    const x = randomImages(2, 64, 1);
    const before = tf.memory().numTensors;
    const out = model.forward(x);
    expect(Object.keys(out).sort()).toEqual(['cls', 'seg']);
    expect(out.det).toBeUndefined();
    expect(out.cls!.shape).toEqual([2, 14]);
    expect(out.seg!.shape).toEqual([2, 64, 64, 1]);
    tf.dispose([out.cls!, out.seg!]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });

  it('refuses heads built for another encoder and a gate reading another class order', () => {
    const encoder = createEncoder({ preset: 'densenet-tiny', initFeatures: 8, growthRate: 4 });
    const other = createEncoder({ preset: 'densenet-tiny' });
    const seg = createSegHead({ featureChannels: other.featureChannels });
    expect(() => createMultiCheXNet({ encoder, heads: { seg } })).toThrow(/featureChannels differ/);
    const cls = createClsHead({ classes: ['Pneumonia', 'Pneumothorax'], featureChannels: encoder.featureChannels });
    const gate = createGate({ kind: 'cls-path', classes: ['Pneumonia'], classNames: ['Pneumothorax', 'Pneumonia'] });
    expect(() => createMultiCheXNet({ encoder, heads: { cls }, gate })).toThrow(DataError);
    expect(() =>
      createMultiCheXNet({
        encoder,
        heads: {},
        gate: createGate({ kind: 'cls-path', classes: ['A'], classNames: ['A'] }),
      }),
    ).toThrow(/needs the task it reads \(cls\)/);
    for (const b of [encoder, other, seg, cls]) b.dispose();
  });

  it('freezing: trainable variables follow the flags, frozen blocks keep their weights and BN statistics', () => {
    const model = smallModel(2);
    model.setTrainable({ encoder: false, cls: false, det: true, seg: false });
    const keys = model.trainableVariables().map((v) => v.key);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith('det/'))).toBe(true);
    const before = snapshot(model);
    const x = randomImages(2, 64, 2);
    // A training-mode pass updates BatchNorm statistics of trainable blocks only.
    const out = model.forward(x, { training: true });
    tf.dispose(Object.values(out) as tf.Tensor[]);
    const changed = differing(before, snapshot(model));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((k) => k.startsWith('det#'))).toBe(true);
    expect(() => model.setTrainable({ gate: true })).toThrow(/No such block/);
    x.dispose();
    model.dispose();
  });

  it('toLayersModel nests the blocks in one functional graph that computes what forward computes', () => {
    const model = smallModel(3, { gate: 'binary-head' });
    const graph = model.toLayersModel({ inputSize: 64 });
    expect(model.outputNames).toEqual(['cls', 'det', 'seg', 'gate']);
    expect(graph.inputs[0]!.shape).toEqual([null, 64, 64, 1]);
    const nested = graph.layers.filter((l) => l instanceof tf.LayersModel).map((l) => l.name);
    expect(nested).toEqual(expect.arrayContaining(['encoder', 'cls', 'chex_det', 'chex_seg', 'gate']));
    const x = randomImages(2, 64, 3);
    const a = graph.predict(x) as tf.Tensor[];
    const b = model.forward(x);
    const order = [b.cls, b.det, b.seg, b.gate!];
    a.forEach((t, i) => {
      expect(t.shape).toEqual(order[i]!.shape);
      const d = tf.max(tf.abs(tf.sub(t, order[i]!))).dataSync()[0]!;
      expect(d).toBeLessThan(1e-5);
    });
    tf.dispose([...a, ...order]);
    expect(() => model.toLayersModel({ inputSize: 100 })).toThrow(/multiple of 32/);
    x.dispose();
    model.dispose();
  });

  it('saves and reloads every block (gate included) to the same outputs', async () => {
    const model = smallModel(4, { gate: 'binary-head' });
    model.gate!.setThreshold(0.37);
    const dir = mkdtempSync(join(tmpdir(), 'mcx-model-'));
    const spec = await model.save(dir);
    expect(Object.keys(spec.blocks).sort()).toEqual(['cls', 'det', 'encoder', 'gate', 'seg']);
    const loaded = await loadMultiCheXNet(dir);
    expect(loaded.gate!.threshold).toBe(0.37);
    const x = randomImages(2, 64, 4);
    const a = model.forward(x);
    const b = loaded.forward(x);
    for (const k of ['cls', 'det', 'seg', 'gate'] as const)
      expect(Array.from(b[k]!.dataSync())).toEqual(Array.from(a[k]!.dataSync()));
    tf.dispose([...Object.values(a), ...Object.values(b)] as tf.Tensor[]);
    // A fresh model of the same config loads the saved weights too.
    const again = smallModel(99, { gate: 'binary-head' });
    await again.load(dir);
    expect(differing(snapshot(model), snapshot(again))).toEqual([]);
    await expect(loadMultiCheXNet(join(dir, 'nowhere'))).rejects.toThrow(DataError);
    x.dispose();
    for (const m of [model, loaded, again]) m.dispose();
  });

  it('predict: det / seg only on the routed rows, the rest empty; the encoder runs once', () => {
    const model = smallModel(5);
    const x = randomImages(4, 64, 5);
    let calls = 0;
    const apply = model.encoder.apply.bind(model.encoder);
    (model.encoder as unknown as { apply: typeof apply }).apply = ((...args: Parameters<typeof apply>) => {
      calls++;
      return apply(...args);
    }) as typeof apply;
    const before = tf.memory().numTensors;
    const truth = model.predict(x, {
      gating: 'truth',
      truthPositive: [true, false, false, true],
      decode: { det: { scoreThreshold: 0 } },
    });
    expect(calls).toBe(1);
    expect(truth.map((p) => p.routed)).toEqual([true, false, false, true]);
    expect(truth[1]!.boxes).toEqual([]);
    expect(truth[1]!.mask).toBeNull();
    expect(truth[0]!.mask!.width).toBe(64);
    expect(truth[0]!.boxes!.length).toBeGreaterThan(0);
    expect(Object.keys(truth[0]!.probabilities!)).toHaveLength(14);
    model.gate!.setThreshold(0);
    const gated = model.predict(x);
    expect(gated.every((p) => p.routed && p.gate!.positive)).toBe(true);
    model.gate!.setThreshold(1);
    const closed = model.predict(x, { tasks: ['det'] });
    expect(
      closed.every((p) => !p.routed && p.boxes!.length === 0 && p.probabilities === undefined && p.mask === undefined),
    ).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => model.predict(x, { gating: 'truth' })).toThrow(/truthPositive/);
    x.dispose();
    model.dispose();
  });
});

describe('buildModel', () => {
  it('builds the plan model with seeds derived from the plan seed, deterministically', () => {
    const cfg = ModelConfigSchema.parse({
      encoder: { preset: 'densenet-tiny', initFeatures: 8, growthRate: 4 },
      cls: {},
      seg: { decoderChannels: 4 },
      gate: { kind: 'cls-path' },
    });
    const a = buildModel(cfg, 7);
    const b = buildModel(cfg, 7);
    const c = buildModel(cfg, 8);
    expect(differing(snapshot(a), snapshot(b))).toEqual([]);
    expect(differing(snapshot(a), snapshot(c)).length).toBeGreaterThan(0);
    expect(a.gate!.config).toMatchObject({ kind: 'cls-path', classes: ['Pneumonia', 'Pneumothorax'] });
    for (const m of [a, b, c]) m.dispose();
  });

  it('labels block config errors with their plan path', () => {
    const cfg = ModelConfigSchema.parse({ encoder: { preset: 'densenet-tiny' }, seg: { decoderChannels: -2 } });
    expect(() => buildModel(cfg, 1)).toThrow(/model\.seg\.decoderChannels: must be > 0/);
    const noCls = ModelConfigSchema.parse({ seg: {}, gate: { kind: 'cls-path' } });
    expect(() => buildModel(noCls, 1)).toThrow(/model\.gate: a cls-path gate needs model\.cls/);
    expect(() => buildModel(ModelConfigSchema.parse({ cls: {}, lung: {} }), 1)).toThrow(
      /model\.lung: must name a task of the table \(cls, det, seg\)/,
    );
  });
});
