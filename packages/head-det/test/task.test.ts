import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend, inputImageSpace, tf, type LabelBatch } from '@multichexnet/core';
import { detDecoder, detTask, DET_HEAD_CLASS_NAME, type DetHead } from '../src/index';
import { SMALL_FEATURE_CHANNELS as CHANNELS, disposeFeatures, randomFeatures } from '@multichexnet/core/testing';

beforeAll(async () => {
  await initBackend('cpu');
});

const SIZE = 64;

function batchOf(): LabelBatch {
  return {
    size: 3,
    imageSize: SIZE,
    labels: new Float32Array(3).fill(Number.NaN),
    classes: ['Pneumonia'],
    boxes: [[{ x: 4, y: 8, width: 20, height: 30 }], [], []],
    masks: new Uint8Array(3 * SIZE * SIZE),
    tasks: { det: Uint8Array.of(1, 1, 0) },
  };
}

describe('detTask', () => {
  it('is a frozen table entry naming its head, outputs and decoder', () => {
    expect(Object.isFrozen(detTask)).toBe(true);
    expect(Object.isFrozen(detTask.outputs)).toBe(true);
    expect(Object.isFrozen(detTask.decoder.reads)).toBe(true);
    expect(detTask).toMatchObject({
      name: 'det',
      headClassName: DET_HEAD_CLASS_NAME,
      routed: true,
      defaultSource: { name: 'rsna' },
    });
    expect(detTask.outputs.map((o) => o.name)).toEqual(['det_raw']);
    expect(detTask.decoder.reads).toEqual(['det_boxes', 'det_scores']);
  });

  it('creates its head on the encoder channels and builds targets from a batch', () => {
    const head = detTask.createHead({ hiddenChannels: 8, hiddenLayers: 1, seed: 2 }, CHANNELS);
    expect(head.config.featureChannels).toEqual(CHANNELS);
    const t = detTask.targets.fromBatch(batchOf(), head);
    expect(t).toEqual([[{ x: 4, y: 8, width: 20, height: 30 }], [], null]);
    expect(t.map((x) => (x === null ? null : detTask.targets.isPositive(x)))).toEqual([true, false, null]);
    expect(detTask.targets.empty(head, SIZE)).toEqual([]);
    head.dispose();
  });

  it('has a finite loss on masked targets, without leaking', () => {
    const head = detTask.createHead({ hiddenChannels: 8, hiddenLayers: 1, seed: 2 }, CHANNELS);
    const f = randomFeatures(3, SIZE, 1);
    const before = tf.memory().numTensors;
    const loss = tf.tidy(
      () => detTask.loss(head, head.apply(f), detTask.targets.fromBatch(batchOf(), head), SIZE).dataSync()[0]!,
    );
    expect(Number.isFinite(loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    disposeFeatures(f);
    head.dispose();
  });

  it('decodes its derived plain outputs exactly as the head decodes the tensor', () => {
    const head: DetHead = detTask.createHead(
      { hiddenChannels: 8, hiddenLayers: 1, seed: 5, priorProbability: 0.3 },
      CHANNELS,
    );
    const f = randomFeatures(2, SIZE, 4);
    const raw = head.apply(f);
    const outputs = detTask.derivedOutputs!.plain(
      { det_raw: { data: raw.dataSync(), dims: raw.shape } },
      { head, inputSize: { width: SIZE, height: SIZE } },
    );
    const settings = detDecoder.settings(detTask.decodeSettings(head), { scoreThreshold: 0.2 });
    const image = inputImageSpace({ width: SIZE, height: SIZE });
    const plain = [0, 1].map((index) => detDecoder.decode(outputs, { index, settings, image }).boxes);
    expect(plain).toEqual(head.decode(raw, { scoreThreshold: 0.2 }));
    expect(plain.flat().length).toBeGreaterThan(0);
    expect(detDecoder.empty(settings)).toEqual({ boxes: [] });
    tf.dispose(raw);
    disposeFeatures(f);
    head.dispose();
  });

  it('names a bad decode setting', () => {
    expect(detDecoder.settings({ scoreThreshold: 0.3, futureSetting: 1 })).toMatchObject({
      scoreThreshold: 0.3,
      nmsIoU: 0.5,
      maxDetections: 10,
    });
    expect(() => detDecoder.settings({}, { scoreThreshold: 2 })).toThrow(/det.scoreThreshold/);
    expect(() => detDecoder.settings({}, { nms: 0.4 })).toThrow(DataError);
    expect(() => detDecoder.settings({}, { maxDetections: 0.5 })).toThrow(/integer > 0/);
  });

  it('scores records with the deployed threshold and calibrates it', () => {
    const head = detTask.createHead({ hiddenChannels: 8, hiddenLayers: 1 }, CHANNELS);
    const truth = [{ x: 10, y: 10, width: 20, height: 20 }];
    const records = [
      detTask.evaluation.record(truth, { boxes: [{ ...truth[0]!, score: 0.6 }] }, head)!,
      detTask.evaluation.record([], { boxes: [{ x: 0, y: 0, width: 5, height: 5, score: 0.1 }] }, head)!,
    ];
    const at = (scoreThreshold: number) =>
      detTask.evaluation.metrics(records, { ...detTask.decodeSettings(head), scoreThreshold }, head);
    expect(at(0.5)).toMatchObject({ mAP: 1, images: 2, positives: 1, scoreThreshold: 0.5 });
    expect(at(0.05).mAP).toBe(0.5);
    expect(detTask.evaluation.calibrate!(records, head)).toEqual({ scoreThreshold: 0.15 });
    expect(detTask.evaluation.headline(at(0.5))[0]).toMatchObject({ label: 'CheXDet RSNA mAP', value: 1 });
    head.dispose();
  });
});
