import { defineTaskSpec, taskHead, formatMetric, type Box } from '@multichexnet/core';
import { DET_BOXES_OUTPUT, DET_RAW_OUTPUT, DET_SCORES_OUTPUT, detBoxesOf } from './decode/det-boxes';
import { detDecoder, type DetDecodeSettings, type DetPrediction } from './decode/det-decoder';
import { DET_HEAD_CLASS_NAME, createDetHead, type DetHead } from './det-head';
import type { DetectionImage } from './metrics/detection-image';
import { chooseScoreThreshold, detMetrics, type DetMetrics } from './metrics/det-metrics';
import { addDetBoxesToGraph } from './onnx/det-boxes-graph';

/** The target of one image: its truth boxes in network-input pixels ([] = no finding). */
export type DetTarget = Box[];

/** Evaluation collects every box down to this score; the metric applies the deployed threshold. */
const COLLECT_SCORE = 0.01;

/**
 * CheXDet in the task table: YOLOv2-style pneumonia boxes on an anchor grid, routed by the gate, trained on RSNA
 * boxes (box regression + objectness), exported as `det_raw` plus the in-graph decoded `det_boxes` / `det_scores`,
 * scored by the RSNA mAP (and AP@0.5).
 *
 * @example
 * const head = detTask.createHead({ hiddenChannels: 32 }, encoder.featureChannels);
 * detTask.decoder.reads;   // ['det_boxes', 'det_scores']
 */
export const detTask = defineTaskSpec<DetHead, DetTarget, DetPrediction, DetDecodeSettings, DetMetrics, DetectionImage>(
  {
    name: 'det',
    title: 'CheXDet',
    ...taskHead(DET_HEAD_CLASS_NAME, createDetHead),
    defaultSource: { name: 'rsna', fallback: 'none' },
    outputs: [{ name: DET_RAW_OUTPUT, activation: 'none', description: 'raw CheXDet output [B, S_h, S_w, K*5], NHWC' }],
    derivedOutputs: {
      graph: (writer, outputs, { head, inputSize }) =>
        addDetBoxesToGraph(writer, outputs.get(DET_RAW_OUTPUT)!, head.anchors, inputSize),
      plain: (outputs, { head }) => {
        const { boxes, scores } = detBoxesOf(outputs[DET_RAW_OUTPUT]!, head.config);
        return { [DET_BOXES_OUTPUT]: boxes, [DET_SCORES_OUTPUT]: scores };
      },
    },
    decoder: detDecoder,
    decodeSettings: (head) => ({ ...head.config.decode }),
    targets: {
      fromBatch: (batch, head) =>
        Array.from({ length: batch.size }, (_, b) =>
          batch.tasks[head.task]?.[b] === 1
            ? batch.boxes[b]!.map(({ x, y, width, height }) => ({ x, y, width, height }))
            : null,
        ),
      isPositive: (target) => target.length > 0,
      empty: () => [],
    },
    loss: (head, output, targets, imageSize) =>
      head.loss(head.encodeTargets(targets, imageSize), output as Parameters<DetHead['loss']>[1]),
    evaluation: {
      primary: 'mAP',
      logged: ['mAP', 'ap50', 'positiveAp50'],
      collectSettings: { scoreThreshold: COLLECT_SCORE },
      record: (truth, prediction) => ({ truth, predictions: prediction.boxes }),
      metrics: (records, settings) => detMetrics(records, settings.scoreThreshold),
      calibrate: (records) => {
        const t = chooseScoreThreshold(records);
        return t === undefined ? {} : { scoreThreshold: t };
      },
      headline: (m) => [
        { label: 'CheXDet RSNA mAP', value: m.mAP, detail: `AP@0.5 ${formatMetric(m.ap50)}, ${m.images} images` },
      ],
      describeSettings: (s) => (s.scoreThreshold === undefined ? [] : [`box score >= ${s.scoreThreshold}`]),
    },
  },
);
