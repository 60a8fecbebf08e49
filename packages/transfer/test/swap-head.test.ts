import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend, tf } from '@multichexnet/core';
import { createEncoder } from '@multichexnet/core-encoder';
import { clsTask, createClsHead } from '@multichexnet/head-cls';
import { createSegHead } from '@multichexnet/head-seg';
import { createMultiCheXNet, loadMultiCheXNet } from '@multichexnet/model';
import { addHead, cloneModel, swapHead } from '../src/index';
import { differing, maxDiff, randomImages, smallModel, snapshot } from './helpers';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('swapHead', () => {
  it('replaces the cls head; every other block is the same object with bit-identical weights and outputs', () => {
    const model = smallModel(1);
    const before = snapshot(model);
    const x = randomImages(2, 64, 1);
    const out0 = model.forward(x);
    const head = createClsHead({ classes: ['COVID-19'], featureChannels: model.encoder.featureChannels, seed: 9 });
    const n0 = tf.memory().numTensors;
    const swapped = swapHead(model, 'cls', head, { gate: { classes: ['COVID-19'] } });
    expect(tf.memory().numTensors).toBe(n0);
    expect(swapped.encoder).toBe(model.encoder);
    expect(swapped.heads.det).toBe(model.heads.det);
    expect(swapped.heads.seg).toBe(model.heads.seg);
    expect(swapped.heads.cls).toBe(head);
    const after = snapshot(swapped);
    const kept = [...before.keys()].filter((k) => !k.startsWith('cls#'));
    expect(kept.length).toBeGreaterThan(10);
    expect(differing(new Map(kept.map((k) => [k, before.get(k)!])), after)).toEqual([]);
    const out1 = swapped.forward(x);
    expect(out1.cls.shape).toEqual([2, 1]);
    expect(maxDiff(out0.det, out1.det)).toBe(0);
    expect(maxDiff(out0.seg, out1.seg)).toBe(0);
    // The gate now reads the new class.
    expect(swapped.gate!.config).toMatchObject({ kind: 'cls-path', classes: ['COVID-19'], classNames: ['COVID-19'] });
    tf.dispose([...Object.values(out0), ...Object.values(out1)] as tf.Tensor[]);
    x.dispose();
    model.heads.cls!.dispose();
    swapped.dispose();
  });

  it('keeps a cls-path gate when the new head still has its classes, and drops it on request', () => {
    const model = smallModel(2);
    const fc = model.encoder.featureChannels;
    const a = swapHead(
      model,
      'cls',
      createClsHead({ classes: ['Pneumothorax', 'COVID-19', 'Pneumonia'], featureChannels: fc }),
    );
    expect(a.gate!.config).toMatchObject({
      classes: ['Pneumonia', 'Pneumothorax'],
      classNames: ['Pneumothorax', 'COVID-19', 'Pneumonia'],
    });
    const b = swapHead(model, 'cls', createClsHead({ classes: ['COVID-19'], featureChannels: fc }), { gate: null });
    expect(b.gate).toBeNull();
    const head = createClsHead({ classes: ['COVID-19'], featureChannels: fc });
    expect(() => swapHead(model, 'cls', head)).toThrow(/gate reads classes the new head does not have/);
    expect(() => swapHead(model, 'cls', head, { gate: { classes: ['Pneumonia'] } })).toThrow(DataError);
    for (const h of [a.heads.cls!, b.heads.cls!, head]) h.dispose();
    model.dispose();
  });

  it('keeps a binary-head gate (it reads the encoder features) untouched', () => {
    const model = smallModel(3, { gate: 'binary-head' });
    const swapped = swapHead(
      model,
      'cls',
      createClsHead({ classes: ['COVID-19'], featureChannels: model.encoder.featureChannels }),
    );
    expect(swapped.gate).toBe(model.gate);
    swapped.heads.cls!.dispose();
    model.dispose();
  });

  it('refuses a head of another task, another encoder, a missing slot, or a block of the model', () => {
    const model = smallModel(4);
    const fc = model.encoder.featureChannels;
    const seg = createSegHead({ featureChannels: fc, decoderChannels: 4 });
    expect(() => swapHead(model, 'cls', seg as never)).toThrow(/does not do this task/);
    expect(() => swapHead(model, 'bogus' as never, seg as never)).toThrow(
      /has no head for this task to replace.*heads.bogus/,
    );
    const other = createEncoder({ preset: 'densenet-tiny' });
    const wide = createClsHead({ classes: ['COVID-19'], featureChannels: other.featureChannels });
    expect(() => swapHead(model, 'cls', wide, { gate: null })).toThrow(/featureChannels differ/);
    expect(() => swapHead(model, 'seg', model.heads.seg!)).toThrow(/already a block/);
    const noSeg = swapHead(
      model,
      'cls',
      createClsHead({ classes: [...model.headOf(clsTask)!.config.classes], featureChannels: fc }),
    );
    expect(() => swapHead(createMultiCheXNetWithout(noSeg), 'seg', seg)).toThrow(/no head for this task/);
    for (const b of [seg, other, wide, noSeg.heads.cls!]) b.dispose();
    model.dispose();
  });

  it('saves and reloads through the registry to the same outputs (config round trip)', async () => {
    const model = smallModel(5);
    const swapped = swapHead(
      model,
      'cls',
      createClsHead({
        classes: ['COVID-19', 'Viral'],
        featureChannels: model.encoder.featureChannels,
        hidden: 4,
        seed: 3,
      }),
      { gate: { classes: ['COVID-19'], threshold: 0.3 } },
    );
    const dir = mkdtempSync(join(tmpdir(), 'mcx-swap-'));
    await swapped.save(dir);
    const loaded = await loadMultiCheXNet(dir);
    expect(loaded.heads.cls!.config).toEqual(swapped.heads.cls!.config);
    expect(loaded.gate!.config).toEqual(swapped.gate!.config);
    const x = randomImages(2, 64, 5);
    const a = swapped.forward(x);
    const b = loaded.forward(x);
    for (const k of ['cls', 'det', 'seg'] as const)
      expect(Array.from(b[k]!.dataSync())).toEqual(Array.from(a[k]!.dataSync()));
    tf.dispose([...Object.values(a), ...Object.values(b)] as tf.Tensor[]);
    x.dispose();
    model.heads.cls!.dispose();
    swapped.dispose();
    loaded.dispose();
  });
});

/** The same blocks without the seg head (for the missing-slot case). */
function createMultiCheXNetWithout(model: ReturnType<typeof smallModel>): ReturnType<typeof smallModel> {
  const { seg: _seg, ...heads } = model.heads;
  return {
    ...model,
    heads,
    tasks: model.tasks.filter((t) => t !== 'seg'),
    blocks: () => model.blocks().filter(([n]) => n !== 'seg'),
  } as ReturnType<typeof smallModel>;
}

describe('addHead', () => {
  it('adds a head for a missing task and leaves the rest untouched; refuses an occupied slot', async () => {
    const model = smallModel(6);
    const copy = await cloneModel(model);
    const fc = copy.encoder.featureChannels;
    const seg = copy.heads.seg!;
    // A model without seg (the original seg head stays with `model`).
    const noSeg = createMultiCheXNet({
      encoder: copy.encoder,
      heads: { cls: copy.heads.cls!, det: copy.heads.det! },
      gate: copy.gate,
    });
    const before = snapshot(noSeg);
    const fresh = createSegHead({ featureChannels: fc, decoderChannels: 4, seed: 1 });
    const withSeg = addHead(noSeg, 'seg', fresh);
    expect(withSeg.tasks).toEqual(['cls', 'det', 'seg']);
    expect(differing(before, snapshot(withSeg))).toEqual([]);
    const x = randomImages(1, 64, 6);
    const out = withSeg.forward(x);
    expect(out.seg.shape).toEqual([1, 64, 64, 1]);
    tf.dispose(Object.values(out) as tf.Tensor[]);
    expect(() => addHead(withSeg, 'seg', seg)).toThrow(/already has a head/);
    x.dispose();
    seg.dispose();
    withSeg.dispose();
    model.dispose();
  });
});

describe('cloneModel', () => {
  it('copies every block: same outputs, independent variables, no tensor left behind', async () => {
    const model = smallModel(7, { gate: 'binary-head' });
    const n0 = tf.memory().numTensors;
    const copy = await cloneModel(model);
    const x = randomImages(2, 64, 7);
    const a = model.forward(x);
    const b = copy.forward(x);
    for (const k of ['cls', 'det', 'seg', 'gate'] as const) expect(maxDiff(a[k]!, b[k]!)).toBe(0);
    tf.dispose([...Object.values(a), ...Object.values(b)] as tf.Tensor[]);
    const zeros = tf.zerosLike(copy.encoder.layersModel.weights[0]!.read());
    copy.encoder.layersModel.weights[0]!.write(zeros);
    zeros.dispose();
    expect(differing(snapshot(model), snapshot(copy)).length).toBe(1);
    x.dispose();
    copy.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    model.dispose();
  });
});
