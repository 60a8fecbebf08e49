import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, initBackend, tf } from '@multichexnet/core';
import { createBatchStream, type Batch } from '@multichexnet/data';
import { clsTask, positiveWeightsFromLabels } from '@multichexnet/head-cls';
import { createMultiCheXNet, loadMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import {
  clsReport,
  createDecoderHead,
  datasetLabels,
  scoreClassifier,
  FineTuneConfigSchema,
  fineTune,
  openTransferData,
  splitClsPath,
  type TransferSplits,
} from '../src/index';
import { differing, maxDiff, smallModel, snapshot, syntheticCovid } from './helpers';

const S = 64;
let data: TransferSplits;
let batch: Batch;

beforeAll(async () => {
  await initBackend('wasm');
  const root = await syntheticCovid(90, 11, 0.3, S);
  data = await openTransferData(root, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 1 });
  const stream = createBatchStream({ datasets: data.test!, batchSize: 4, shuffle: false, preprocess: { size: S } });
  for await (const b of stream) {
    batch = b;
    break;
  }
});

function images(): tf.Tensor4D {
  return tf.tensor4d(batch.images, [batch.size, S, S, 1]);
}

function without(snap: Map<string, Float32Array>, prefix: string): Map<string, Float32Array> {
  return new Map([...snap].filter(([k]) => !k.startsWith(prefix)));
}

const base = { imageSize: S, batchSize: 8, steps: 3 } as const;

describe('fineTune', () => {
  it('feats-frozen: only theta_dec moves; encoder, hidden layer, det and seg stay bit-identical and give the same outputs', async () => {
    const source = smallModel(1, { hidden: 8 });
    const before = snapshot(source);
    const n0 = tf.memory().numTensors;
    const r = await fineTune({ ...base, from: source, data, freeze: 'feats-frozen', seed: 3 });
    expect(r.trainable.trainable.sort()).toEqual(['cls/cls_logits/bias', 'cls/cls_logits/kernel']);
    expect(r.trainable.transferred).toEqual([]);
    // The source model is untouched (fine-tuning works on a copy).
    expect(differing(before, snapshot(source))).toEqual([]);
    const after = snapshot(r.model);
    expect(differing(without(before, 'cls#'), without(after, 'cls#'))).toEqual([]);
    // The hidden layer was transferred as is; the decoder moved away from its seeded initial values.
    const cfg = FineTuneConfigSchema.parse({ seed: 3 });
    const init = createDecoderHead(
      source.headOf(clsTask),
      source.encoder.featureChannels,
      cfg,
      positiveWeightsFromLabels(datasetLabels(data.train, ['COVID-19'])),
    );
    const weightOf = (m: tf.LayersModel, layer: string): Float32Array[] =>
      m
        .getLayer(layer)
        .getWeights()
        .map((w) => Float32Array.from(w.dataSync()));
    expect(weightOf(r.model.heads.cls!.layersModel, 'cls_hidden')).toEqual(
      weightOf(source.heads.cls!.layersModel, 'cls_hidden'),
    );
    expect(weightOf(r.model.heads.cls!.layersModel, 'cls_hidden')).toEqual(weightOf(init.layersModel, 'cls_hidden'));
    expect(weightOf(r.model.heads.cls!.layersModel, 'cls_logits')).not.toEqual(
      weightOf(init.layersModel, 'cls_logits'),
    );
    init.dispose();
    // Free localisation: det and seg give exactly the source's outputs on COVID films.
    const x = images();
    const a = source.forward(x);
    const b = r.model.forward(x);
    expect(maxDiff(a.det, b.det)).toBe(0);
    expect(maxDiff(a.seg, b.seg)).toBe(0);
    expect(b.cls.shape).toEqual([batch.size, 1]);
    tf.dispose([...Object.values(a), ...Object.values(b)] as tf.Tensor[]);
    x.dispose();
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    source.dispose();
  });

  it('encoder-frozen: the hidden layer learns at lr x lrMultiplier (0 keeps it), the encoder does not', async () => {
    const source = smallModel(2, { hidden: 8 });
    const split = splitClsPath(source);
    const frozen = await fineTune({ ...base, from: source, data, freeze: 'encoder-frozen', lrMultiplier: 0, seed: 1 });
    const slow = await fineTune({ ...base, from: source, data, freeze: 'encoder-frozen', lrMultiplier: 0.1, seed: 1 });
    const fast = await fineTune({ ...base, from: source, data, freeze: 'encoder-frozen', lrMultiplier: 1, seed: 1 });
    expect(slow.trainable.transferred.sort()).toEqual(split.feats.filter((k) => k.startsWith('cls/')).sort());
    const hidden = (m: MultiCheXNet): Float32Array =>
      Float32Array.from(m.heads.cls!.layersModel.getLayer('cls_hidden').getWeights()[0]!.dataSync());
    const h0 = hidden(source);
    const dist = (m: MultiCheXNet): number => Math.sqrt(hidden(m).reduce((s, v, i) => s + (v - h0[i]!) ** 2, 0));
    expect(dist(frozen.model)).toBe(0);
    expect(dist(slow.model)).toBeGreaterThan(0);
    // Adam steps scale with the learning rate: 10x the rate moves the hidden layer about 10x further in 3 steps.
    const ratio = dist(fast.model) / dist(slow.model);
    expect(ratio).toBeGreaterThan(5);
    expect(ratio).toBeLessThan(15);
    for (const r of [frozen, slow, fast]) {
      expect(differing(without(snapshot(source), 'cls#'), without(snapshot(r.model), 'cls#'))).toEqual([]);
      r.model.dispose();
    }
    source.dispose();
  });

  it('all-trainable: the encoder learns; det / seg heads keep their weights and still give well-formed boxes and masks', async () => {
    const source = smallModel(3);
    const before = snapshot(source);
    const r = await fineTune({ ...base, from: source, data, freeze: 'all-trainable', seed: 2 });
    const changed = differing(before, snapshot(r.model));
    expect(changed.some((k) => k.startsWith('encoder#'))).toBe(true);
    expect(changed.some((k) => k.startsWith('det#') || k.startsWith('seg#'))).toBe(false);
    const x = images();
    const preds = r.model.predict(x, { gating: 'none', decode: { det: { scoreThreshold: 0 } } });
    expect(preds).toHaveLength(batch.size);
    for (const p of preds) {
      expect(Object.keys(p.probabilities!)).toEqual(['COVID-19']);
      expect(p.boxes!.length).toBeGreaterThan(0);
      for (const b of p.boxes!) {
        for (const v of [b.x, b.y, b.width, b.height, b.score]) expect(Number.isFinite(v)).toBe(true);
        expect(b.width).toBeGreaterThan(0);
      }
      expect([p.mask!.width, p.mask!.height]).toEqual([S, S]);
      expect(p.mask!.data.every((v) => v === 0 || v === 1)).toBe(true);
    }
    // The gate now reads COVID-19, at the threshold chosen on validation data.
    expect(r.model.gate!.config).toMatchObject({ kind: 'cls-path', classes: ['COVID-19'] });
    if (r.gateThreshold !== null) expect(r.model.gate!.threshold).toBe(r.gateThreshold);
    x.dispose();
    r.model.dispose();
    source.dispose();
  });

  it('learns the new class: COVID-19 AUROC on the films it trained on goes from chance to near 1', async () => {
    // Held-out AUROC needs transferred features and more data than a unit test can afford: the transfer experiment
    // (Table 3) measures it. Scoring the training films with their own labels still fails if fine-tuning paired
    // images with the wrong labels, did not update, or did not reach the decoder.
    const source = smallModel(9, { hidden: 0 });
    const common = {
      ...base,
      from: source,
      data,
      freeze: 'all-trainable' as const,
      lrMultiplier: 1,
      batchSize: 16,
      augment: false,
      seed: 1,
      optimizer: { type: 'adam' as const, learningRate: 3e-3 },
      schedule: { type: 'constant' as const },
    };
    const start = await fineTune({ ...common, steps: 1 });
    const trained = await fineTune({ ...common, steps: 60 });
    const aurocOn = async (m: MultiCheXNet): Promise<number> =>
      clsReport(await scoreClassifier(m, data.train, { imageSize: S })).meanAuroc;
    const before = await aurocOn(start.model);
    const after = await aurocOn(trained.model);
    expect(after).toBeGreaterThan(0.85);
    expect(after - before).toBeGreaterThan(0.25);
    expect(trained.history.at(-1)!.loss).toBeLessThan(trained.history[0]!.loss);
    start.model.dispose();
    trained.model.dispose();
    source.dispose();
  });

  it('same seed, same model; another seed, another decoder', async () => {
    const source = smallModel(4);
    const a = await fineTune({ ...base, from: source, data, seed: 5, steps: 2 });
    const b = await fineTune({ ...base, from: source, data, seed: 5, steps: 2 });
    const c = await fineTune({ ...base, from: source, data, seed: 6, steps: 2 });
    expect(differing(snapshot(a.model), snapshot(b.model))).toEqual([]);
    expect(a.history).toEqual(b.history);
    expect(differing(snapshot(a.model), snapshot(c.model)).some((k) => k.startsWith('cls#'))).toBe(true);
    for (const r of [a, b, c]) r.model.dispose();
    source.dispose();
  });

  it('imbalance: weighted loss from the training labels, seeded oversampling, or none', async () => {
    const source = smallModel(5);
    const train = datasetLabels(data.train, ['COVID-19']);
    const positives = train.filter((y) => y[0] === 1).length;
    expect(positives).toBeGreaterThan(0);
    expect(positives).toBeLessThan(train.length / 2);
    const w = await fineTune({ ...base, from: source, data, imbalance: 'weighted-loss', steps: 1 });
    expect(w.imbalance.classWeights).toEqual(positiveWeightsFromLabels(train));
    expect(w.model.headOf(clsTask)!.config.posWeights).toEqual(w.imbalance.classWeights!.posWeights);
    expect(w.imbalance.classWeights!.posWeights[0]).toBeCloseTo((train.length - positives) / train.length, 6);
    const o = await fineTune({ ...base, from: source, data, imbalance: 'oversample', steps: 1 });
    expect(o.imbalance.classWeights).toBeNull();
    expect(o.model.headOf(clsTask)!.config.posWeights).toBeUndefined();
    expect(o.imbalance.oversampling!.groups).toEqual([
      { pattern: '0', before: train.length - positives, after: train.length - positives },
      { pattern: '1', before: positives, after: train.length - positives },
    ]);
    const n = await fineTune({ ...base, from: source, data, imbalance: 'none', steps: 1 });
    expect(n.imbalance.classWeights).toBeNull();
    expect(n.imbalance.oversampling).toBeNull();
    for (const r of [w, o, n]) r.model.dispose();
    source.dispose();
  });

  it('NaN labels (Pneumonia is not annotated for Tuberculosis) are masked: the loss stays finite', async () => {
    const source = smallModel(6);
    const labels = datasetLabels(data.train, ['COVID-19', 'Pneumonia']);
    expect(labels.some((y) => Number.isNaN(y[1]!))).toBe(true);
    const r = await fineTune({
      ...base,
      from: source,
      data,
      classes: ['COVID-19', 'Pneumonia'],
      steps: 2,
      imbalance: 'oversample',
    });
    expect(r.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    expect(r.test!.classes).toEqual(['COVID-19', 'Pneumonia']);
    expect(r.model.gate!.config).toMatchObject({ classes: ['COVID-19', 'Pneumonia'] });
    r.model.dispose();
    source.dispose();
  });

  it('a source without a cls head gets a new one from config.head (addHead); det / seg untouched', async () => {
    const full = smallModel(10, { gate: null });
    const source = createMultiCheXNet({ encoder: full.encoder, heads: { det: full.heads.det!, seg: full.heads.seg! } });
    const r = await fineTune({
      ...base,
      from: source,
      data,
      steps: 2,
      freeze: 'feats-frozen',
      head: { level: 'c4', hidden: 6 },
    });
    expect(r.model.tasks).toEqual(['cls', 'det', 'seg']);
    expect(r.model.heads.cls!.config).toMatchObject({ classes: ['COVID-19'], level: 'c4', hidden: 6 });
    expect(r.model.gate).toBeNull();
    // Only the new head learns, all of it at the base rate: its hidden layer is new, so feats-frozen cannot mean it.
    expect(r.trainable.transferred).toEqual([]);
    expect(r.trainable.fresh.sort()).toEqual([
      'cls/cls_hidden/bias',
      'cls/cls_hidden/kernel',
      'cls/cls_logits/bias',
      'cls/cls_logits/kernel',
    ]);
    expect(differing(without(snapshot(source), 'cls#'), without(snapshot(r.model), 'cls#'))).toEqual([]);
    r.model.dispose();
    full.dispose();
  });

  it('refuses bad configs and data with errors that name the field', async () => {
    const source = smallModel(7);
    await expect(fineTune({ ...base, from: source, data, freeze: 'sometimes' as never })).rejects.toThrow(ConfigError);
    await expect(fineTune({ ...base, from: source, data, steps: 0 })).rejects.toThrow(/steps/);
    await expect(fineTune({ ...base, from: source, data, classes: ['Covid-19'] })).rejects.toThrow(
      /Covid-19.*0 positive/,
    );
    await expect(fineTune({ ...base, from: source, data, batchSize: 500 })).rejects.toThrow(/smaller than one batch/);
    await expect(fineTune({ ...base, from: source, data: { train: 'nope' } as never })).rejects.toThrow(DataError);
    await expect(fineTune({ ...base, from: '/nowhere/at/all', data })).rejects.toThrow(/No MultiCheXNet model/);
    await expect(fineTune({ ...base, from: source, data, decoder: 'keep' })).rejects.toThrow(/must be its classes/);
    source.dispose();
  });

  it('writes a run folder that loads back (registry round trip) and can be fine-tuned again from its path', async () => {
    const source = smallModel(8);
    const dir = mkdtempSync(join(tmpdir(), 'mcx-ft-'));
    const r = await fineTune({ ...base, from: source, data, runDir: dir, seed: 4 });
    const record = JSON.parse(await readFile(join(dir, 'transfer.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({
      format: 'multichexnet-transfer',
      imageSize: S,
      config: { classes: ['COVID-19'], seed: 4 },
    });
    expect((await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(3);
    const loaded = await loadMultiCheXNet(join(dir, 'weights'));
    expect(loaded.gate!.threshold).toBe(r.model.gate!.threshold);
    const x = images();
    const a = r.model.forward(x);
    const b = loaded.forward(x);
    for (const k of ['cls', 'det', 'seg'] as const) expect(maxDiff(a[k]!, b[k]!)).toBe(0);
    tf.dispose([...Object.values(a), ...Object.values(b)] as tf.Tensor[]);
    // A second transfer from the run folder: its imageSize comes from transfer.json; decoder kept, same classes.
    const again = await fineTune({ from: dir, data, decoder: 'keep', steps: 1, batchSize: 8 });
    expect(again.imageSize).toBe(S);
    expect(again.trainable.fresh).toEqual([]);
    x.dispose();
    for (const m of [r.model, loaded, again.model, source]) m.dispose();
  });

  it('is a trainer phase: interrupted mid-way (AbortSignal) and resumed, it ends with the weights and history of an uninterrupted run', async () => {
    const source = smallModel(12, { hidden: 8 });
    const common = {
      ...base,
      steps: 5,
      checkpointEvery: 2,
      freeze: 'encoder-frozen' as const,
      seed: 7,
      from: source,
      data,
    };
    const whole = await fineTune({ ...common, runDir: mkdtempSync(join(tmpdir(), 'mcx-ft-whole-')) });
    const dir = mkdtempSync(join(tmpdir(), 'mcx-ft-cut-'));
    const stop = new AbortController();
    const cut = await fineTune({
      ...common,
      runDir: dir,
      signal: stop.signal,
      onEvent: (e) => e.type === 'step' && e.step === 3 && stop.abort(),
    });
    expect(cut.status).toBe('aborted');
    expect(cut.test).toBeNull();
    cut.model.dispose();
    // A second call without resume must not overwrite the interrupted run; another config must not resume it.
    await expect(fineTune({ ...common, runDir: dir })).rejects.toThrow(/already holds checkpoints/);
    await expect(fineTune({ ...common, seed: 8, runDir: dir, resume: true })).rejects.toThrow(/another plan/);
    const steps: number[] = [];
    const resumed = await fineTune({
      ...common,
      runDir: dir,
      resume: true,
      onEvent: (e) => e.type === 'step' && steps.push(e.step),
    });
    expect(steps).toEqual([3, 4, 5]);
    expect(resumed.status).toBe('completed');
    expect(resumed.history.map((h) => h.step)).toEqual([1, 2, 3, 4, 5]);
    expect(resumed.history.map((h) => h.loss)).toEqual(whole.history.map((h) => h.loss));
    const a = snapshot(whole.model);
    const b = snapshot(resumed.model);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) expect(Math.max(...v.map((x, i) => Math.abs(x - b.get(k)![i]!))), k).toBeLessThan(1e-6);
    expect(resumed.test!.meanAuroc).toBeCloseTo(whole.test!.meanAuroc, 6);
    for (const m of [whole.model, resumed.model, source]) m.dispose();
  });
});
