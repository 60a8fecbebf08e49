import { CHESTXRAY14_CLASSES, defineTaskSpec, formatMetric, tf, type LabelBatch } from '@multichexnet/core';
import { clsDecoder, CLS_PROBS_OUTPUT, type ClsDecodeSettings, type ClsPrediction } from './decode/cls-decoder';
import type { ClsHeadConfigInput } from './config';
import { CLS_HEAD_CLASS_NAME, createClsHead, type ClsHead } from './head';
import { clsMetrics, type ClsMetrics, type ClsRecord } from './metrics/cls-metrics';
import { chooseF1Thresholds } from './metrics/f1-thresholds';

/** The target of one image: labels [C] over the head's classes, NaN = not annotated. */
export type ClsTarget = Float32Array;

function labelsOf(batch: LabelBatch, classes: readonly string[]): (ClsTarget | null)[] {
  const C = batch.classes.length;
  const cols = classes.map((c) => batch.classes.indexOf(c));
  return Array.from({ length: batch.size }, (_, b) => {
    const row = batch.labels.subarray(b * C, (b + 1) * C);
    const labels = Float32Array.from(cols, (c) => (c < 0 ? Number.NaN : row[c]!));
    return labels.some((v) => !Number.isNaN(v)) ? labels : null;
  });
}

/**
 * CheXCls in the task table: a multi-label classifier over the encoder features (default classes: the 14
 * ChestX-ray14 labels), trained with masked BCE on NIH, exported as `cls_probs` [B, C] sigmoid probabilities, scored
 * by mean AUROC (and macro F1 at per-class thresholds chosen on validation data).
 *
 * @example
 * const head = clsTask.createHead({ hidden: 64 }, encoder.featureChannels);   // classes default to ChestX-ray14
 * clsTask.decoder.reads;   // ['cls_probs']
 */
export const clsTask = defineTaskSpec<ClsHead, ClsTarget, ClsPrediction, ClsDecodeSettings, ClsMetrics, ClsRecord>({
  name: 'cls',
  title: 'CheXCls',
  headClassName: CLS_HEAD_CLASS_NAME,
  defaultSource: { name: 'nih', fallback: 'any-source' },
  createHead: (config, featureChannels) =>
    createClsHead({ classes: [...CHESTXRAY14_CLASSES], ...config, featureChannels } as ClsHeadConfigInput),
  classesOf: (head) => head.config.classes,
  outputs: [
    {
      name: CLS_PROBS_OUTPUT,
      activation: 'sigmoid',
      description: '[B, C] sigmoid probabilities, classes in metadata classNames order',
    },
  ],
  decoder: clsDecoder,
  decodeSettings: (head) => ({ classes: [...head.config.classes] }),
  targets: {
    fromBatch: (batch, head) => labelsOf(batch, head.config.classes),
    isPositive: (target) => target.some((v) => v === 1),
    empty: (head) => new Float32Array(head.config.classes.length),
  },
  loss(head, output, targets) {
    const C = head.config.classes.length;
    const labels = new Float32Array(targets.length * C).fill(Number.NaN);
    targets.forEach((t, b) => {
      if (t !== null) labels.set(t, b * C);
    });
    return head.loss(tf.tensor2d(labels, [targets.length, C]), output as tf.Tensor2D);
  },
  evaluation: {
    primary: 'meanAuroc',
    logged: ['meanAuroc', 'macroF1'],
    record: (target, prediction, head) => ({
      labels: target,
      scores: Float32Array.from(head.config.classes, (c) => prediction.probabilities[c]!),
    }),
    metrics: (records, settings, head) => clsMetrics(records, head.config.classes, settings.thresholds),
    calibrate: (records, head) => ({
      thresholds: chooseF1Thresholds(
        records.map((r) => r.labels),
        records.map((r) => r.scores),
        head.config.classes,
      ),
    }),
    headline: (m) => [
      {
        label: 'CheXCls mean AUROC',
        value: m.meanAuroc,
        detail: `macro F1 ${formatMetric(m.macroF1)}, ${m.images} images`,
      },
    ],
    describeSettings: (s) =>
      s.thresholds === undefined ? [] : [`${Object.keys(s.thresholds).length} per-class F1 thresholds`],
  },
});
