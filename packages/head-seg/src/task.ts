import { defineTaskSpec, taskHead, tf, type BinaryMask } from '@multichexnet/core';
import { SEG_MASK_OUTPUT, segDecoder, type SegDecodeSettings, type SegPrediction } from './decode/seg-decoder';
import { encodeSegTargets } from './masks/encode-masks';
import type { SegmentationImage } from './metrics/dice';
import { chooseMinArea, segMetrics, type SegMetrics } from './metrics/seg-metrics';
import { SEG_HEAD_CLASS_NAME, createSegHead, type SegHead } from './seg-head';

/** The target of one image: its truth mask at the network input (all zero = no finding). */
export type SegTarget = BinaryMask;

const emptyMask = (width: number, height = width): BinaryMask => ({
  width,
  height,
  data: new Uint8Array(width * height),
});

/**
 * CheXSeg in the task table: a pneumothorax mask at the network input, routed by the gate, trained on SIIM masks
 * (BCE + soft Dice), exported as `seg_mask` [B, H, W, 1] sigmoid probabilities, scored by the SIIM mean Dice.
 *
 * @example
 * const head = segTask.createHead({ decoderChannels: 16 }, encoder.featureChannels);
 * segTask.decoder.reads;   // ['seg_mask']
 */
export const segTask = defineTaskSpec<
  SegHead,
  SegTarget,
  SegPrediction,
  SegDecodeSettings,
  SegMetrics,
  SegmentationImage
>({
  name: 'seg',
  title: 'CheXSeg',
  ...taskHead(SEG_HEAD_CLASS_NAME, createSegHead),
  defaultSource: { name: 'siim', fallback: 'none' },
  outputs: [
    { name: SEG_MASK_OUTPUT, activation: 'sigmoid', description: '[B, H, W, 1] foreground probabilities, NHWC' },
  ],
  decoder: segDecoder,
  decodeSettings: (head) => ({ threshold: head.config.threshold, minArea: 0 }),
  targets: {
    fromBatch: (batch, head) => {
      const S = batch.imageSize;
      return Array.from({ length: batch.size }, (_, b) =>
        batch.tasks[head.task]?.[b] === 1
          ? { width: S, height: S, data: batch.masks.slice(b * S * S, (b + 1) * S * S) }
          : null,
      );
    },
    isPositive: (target) => target.data.some((v) => v !== 0),
    empty: (_head, imageSize) => emptyMask(imageSize),
  },
  loss: (head, output, targets, imageSize) =>
    head.loss(encodeSegTargets(targets, { width: imageSize, height: imageSize }), output as tf.Tensor4D),
  evaluation: {
    primary: 'dice',
    logged: ['dice', 'positiveDice'],
    collectSettings: { minArea: 0 },
    record: (truth, prediction) => ({ truth, prediction: prediction.mask ?? emptyMask(truth.width, truth.height) }),
    metrics: (records, settings) => segMetrics(records, settings.minArea),
    calibrate: (records) => {
      const a = chooseMinArea(records);
      return a === undefined ? {} : { minArea: a };
    },
    headline: (m) => [
      { label: 'CheXSeg SIIM Dice', value: m.dice, detail: `${m.images} images, ${m.positives} positive` },
    ],
    describeSettings: (s) => (s.minArea === undefined ? [] : [`min mask area ${s.minArea} px`]),
  },
});
