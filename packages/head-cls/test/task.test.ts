import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHESTXRAY14_CLASSES,
  DataError,
  createRng,
  initBackend,
  inputImageSpace,
  tf,
  type FeatureChannels,
  type LabelBatch,
} from '@multichexnet/core';
import { CLS_HEAD_CLASS_NAME, clsDecoder, clsTask } from '../src/index';

const CHANNELS: FeatureChannels = { c2: 6, c3: 8, c4: 10, c5: 12 };

beforeAll(async () => {
  await initBackend('cpu');
});

function features(batch: number) {
  const rng = createRng(3);
  const make = (size: number, c: number) =>
    tf.tensor4d(
      Float32Array.from({ length: batch * size * size * c }, () => Math.max(0, rng.normal())),
      [batch, size, size, c],
    );
  return { c2: make(16, CHANNELS.c2), c3: make(8, CHANNELS.c3), c4: make(4, CHANNELS.c4), c5: make(2, CHANNELS.c5) };
}

const batch: LabelBatch = {
  size: 3,
  imageSize: 64,
  // classes [Pneumonia, Effusion]: row 0 both labelled, row 1 only Effusion, row 2 none
  labels: Float32Array.of(1, 0, Number.NaN, 1, Number.NaN, Number.NaN),
  classes: ['Pneumonia', 'Effusion'],
  boxes: [[], [], []],
  masks: new Uint8Array(3 * 64 * 64),
  tasks: { cls: Uint8Array.of(1, 1, 0) },
};

describe('clsTask', () => {
  it('is a frozen table entry: ChestX-ray14 by default, cls_probs, not routed', () => {
    expect(Object.isFrozen(clsTask) && Object.isFrozen(clsTask.evaluation)).toBe(true);
    expect(clsTask).toMatchObject({
      name: 'cls',
      headClassName: CLS_HEAD_CLASS_NAME,
      routed: false,
      defaultSource: { name: 'nih', fallback: 'any-source' },
    });
    const head = clsTask.createHead({}, CHANNELS);
    expect(head.config.classes).toEqual([...CHESTXRAY14_CLASSES]);
    expect(clsTask.classesOf!(head)).toEqual([...CHESTXRAY14_CLASSES]);
    expect(clsTask.outputs[0]).toMatchObject({ name: 'cls_probs', activation: 'sigmoid' });
    head.dispose();
  });

  it('picks its classes out of the batch labels (NaN = not annotated, null = no label at all)', () => {
    const head = clsTask.createHead({ classes: ['Effusion', 'Mass'] }, CHANNELS);
    const t = clsTask.targets.fromBatch(batch, head);
    expect(t[0]).toEqual(Float32Array.of(0, Number.NaN));
    expect(t[1]).toEqual(Float32Array.of(1, Number.NaN));
    expect(t[2]).toBeNull();
    const f = features(3);
    const before = tf.memory().numTensors;
    const loss = tf.tidy(() => clsTask.loss(head, head.apply(f), t, 64).dataSync()[0]!);
    expect(Number.isFinite(loss) && loss > 0).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(f));
    head.dispose();
  });

  it('decodes cls_probs by class name, with findings at recorded thresholds, as the head decodes logits', () => {
    const head = clsTask.createHead({ classes: ['Pneumonia', 'Effusion'], seed: 4 }, CHANNELS);
    const f = features(2);
    const logits = head.apply(f);
    const probs = tf.tidy(() => tf.sigmoid(logits).dataSync());
    const outputs = { cls_probs: { data: probs, dims: [2, 2] } };
    const image = inputImageSpace({ width: 64, height: 64 });
    const settings = clsDecoder.settings(clsTask.decodeSettings(head));
    expect([0, 1].map((index) => clsDecoder.decode(outputs, { index, settings, image }))).toEqual(head.decode(logits));
    const withThresholds = clsDecoder.settings({
      classes: ['Pneumonia', 'Effusion'],
      thresholds: { Pneumonia: 0, Effusion: 1 },
    });
    expect(clsDecoder.decode(outputs, { index: 0, settings: withThresholds, image }).findings).toEqual(['Pneumonia']);
    // a file that recorded its classes only in metadata.classNames
    expect(clsDecoder.settings({ thresholds: { A: 0.2 } }, undefined, { classNames: ['A'] })).toEqual({
      classes: ['A'],
      thresholds: { A: 0.2 },
    });
    expect(() => clsDecoder.settings({ classes: ['A'] }, { thresholds: { B: 0.3 } })).toThrow(DataError);
    expect(() => clsDecoder.settings({ classes: ['A'] }, { thresholds: { A: 3 } })).toThrow(/cls.thresholds/);
    tf.dispose([logits, ...Object.values(f)]);
    head.dispose();
  });

  it('scores records by mean AUROC and calibrates per-class F1 thresholds', () => {
    const head = clsTask.createHead({ classes: ['A'] }, CHANNELS);
    const records = [0.9, 0.8, 0.3, 0.2].map((p, i) =>
      clsTask.evaluation.record(Float32Array.of(i < 2 ? 1 : 0), { probabilities: { A: p } }, head)!,
    );
    const m = clsTask.evaluation.metrics(records, clsTask.decodeSettings(head), head);
    expect(m).toMatchObject({ meanAuroc: 1, macroF1: 1, images: 4, f1Threshold: 0.5 });
    expect(clsTask.evaluation.calibrate!(records, head)).toEqual({ thresholds: { A: expect.closeTo(0.8, 6) } });
    expect(clsTask.evaluation.primary).toBe('meanAuroc');
    head.dispose();
  });
});
