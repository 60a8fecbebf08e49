import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, inputImageSpace, tf, type LabelBatch } from '@multichexnet/core';
import { SEG_HEAD_CLASS_NAME, segDecoder, segTask } from '../src/index';
import { SMALL_FEATURE_CHANNELS as CHANNELS, disposeFeatures, randomFeatures } from '@multichexnet/core/testing';

beforeAll(async () => {
  await initBackend('cpu');
});

const S = 32;

function batchOf(): LabelBatch {
  const masks = new Uint8Array(3 * S * S);
  masks.fill(1, 5 * S, 6 * S); // one row of image 0
  return {
    size: 3,
    imageSize: S,
    labels: new Float32Array(3),
    classes: ['Pneumothorax'],
    boxes: [[], [], []],
    masks,
    tasks: { seg: Uint8Array.of(1, 1, 0) },
  };
}

describe('segTask', () => {
  it('is a frozen table entry: routed, seg_mask probabilities, SIIM', () => {
    expect(Object.isFrozen(segTask)).toBe(true);
    expect(segTask).toMatchObject({
      name: 'seg',
      headClassName: SEG_HEAD_CLASS_NAME,
      routed: true,
      defaultSource: { name: 'siim', fallback: 'none' },
    });
    expect(segTask.outputs[0]).toMatchObject({ name: 'seg_mask', activation: 'sigmoid' });
    expect(segTask.decoder.reads).toEqual(['seg_mask']);
  });

  it('builds mask targets from a batch and has a finite loss without leaking', () => {
    const head = segTask.createHead({ decoderChannels: 8, seed: 1 }, CHANNELS);
    const t = segTask.targets.fromBatch(batchOf(), head);
    expect(t.map((m) => (m === null ? null : segTask.targets.isPositive(m)))).toEqual([true, false, null]);
    expect(segTask.targets.empty(head, S).data.every((v) => v === 0)).toBe(true);
    const f = randomFeatures(3, S, 2);
    const before = tf.memory().numTensors;
    const loss = tf.tidy(() => segTask.loss(head, head.apply(f), t, S).dataSync()[0]!);
    expect(Number.isFinite(loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    disposeFeatures(f);
    head.dispose();
  });

  it('decodes seg_mask probabilities as the head decodes its logits', () => {
    const head = segTask.createHead({ decoderChannels: 8, seed: 1, priorProbability: 0.5 }, CHANNELS);
    const f = randomFeatures(2, S, 7);
    const logits = head.apply(f);
    const outputs = { seg_mask: { data: tf.tidy(() => tf.sigmoid(logits).dataSync()), dims: logits.shape } };
    const settings = segDecoder.settings(segTask.decodeSettings(head));
    const image = inputImageSpace({ width: S, height: S });
    expect([0, 1].map((index) => segDecoder.decode(outputs, { index, settings, image }).mask)).toEqual(
      head.decode(logits),
    );
    expect(segDecoder.empty(settings)).toEqual({ mask: null });
    tf.dispose(logits);
    disposeFeatures(f);
    head.dispose();
  });

  it('scores records by SIIM Dice with the minimum area and calibrates it', () => {
    const head = segTask.createHead({ decoderChannels: 8 }, CHANNELS);
    const mask = (on: number[]) => ({
      width: 10,
      height: 10,
      data: Uint8Array.from({ length: 100 }, (_, i) => (on.includes(i) ? 1 : 0)),
    });
    const records = [
      segTask.evaluation.record(mask([1, 2, 3]), { mask: mask([1, 2, 3]) }, head)!,
      segTask.evaluation.record(mask([]), { mask: mask([50]) }, head)!,
      segTask.evaluation.record(mask([]), { mask: null }, head)!,
    ];
    const at = (minArea: number) => segTask.evaluation.metrics(records, { threshold: 0.5, minArea }, head);
    expect(at(0)).toMatchObject({ dice: 2 / 3, images: 3, positives: 1 });
    expect(at(2).dice).toBe(1);
    expect(segTask.evaluation.calibrate!(records, head)).toEqual({ minArea: 2 });
    head.dispose();
  });
});
