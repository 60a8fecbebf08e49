import {
  defineTaskDecoder,
  probabilityRule,
  readRow,
  resolveSettings,
  type ScoredBox,
  type SettingRule,
} from '@multichexnet/core/base';
import { DET_BOXES_OUTPUT, DET_SCORES_OUTPUT } from './det-boxes';
import { nonMaxSuppression } from './nms';

/** One image's decoded detections. */
export interface DetPrediction {
  /** Boxes, best first, in the pixels of the decoder's image space ([] when the gate stopped the image). */
  boxes: ScoredBox[];
}

/** Decision settings of the detection decoder. */
export interface DetDecodeSettings {
  /** Keep boxes whose score is >= this. */
  scoreThreshold: number;
  /** NMS drops a box whose IoU with an already kept, higher-scored box is > this. */
  nmsIoU: number;
  /** At most this many boxes per image, highest scores first. */
  maxDetections: number;
}

/** The defaults of CheXDet's `decode` config. */
export const DET_DECODE_DEFAULTS: Readonly<DetDecodeSettings> = Object.freeze({
  scoreThreshold: 0.25,
  nmsIoU: 0.5,
  maxDetections: 10,
});

const positiveInteger: SettingRule = {
  expected: 'an integer > 0',
  check: (v) => Number.isInteger(v) && (v as number) > 0,
};

/**
 * One image's boxes from its candidate boxes [N, 4] (x, y, width, height) and scores [N]: score >= threshold, a
 * positive size, greedy NMS, at most `maxDetections`, best first.
 *
 * @example
 * selectBoxes(boxesOfImage, scoresOfImage, { scoreThreshold: 0.3, nmsIoU: 0.5, maxDetections: 10 });
 */
export function selectBoxes(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  settings: DetDecodeSettings,
): ScoredBox[] {
  const candidates: ScoredBox[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (!(score >= settings.scoreThreshold)) continue;
    const width = boxes[i * 4 + 2]!;
    const height = boxes[i * 4 + 3]!;
    if (!(width > 0 && height > 0)) continue;
    candidates.push({ x: boxes[i * 4]!, y: boxes[i * 4 + 1]!, width, height, score });
  }
  return nonMaxSuppression(candidates, settings.nmsIoU, settings.maxDetections);
}

/**
 * Decodes `det_boxes` [B, N, 4] (network-input pixels) and `det_scores` [B, N] into `{ boxes }` in the image space's
 * pixels: {@link selectBoxes}, then mapped (the runtime maps onto the original film). Plain arrays only (no tfjs):
 * what the ONNX runtime and `DetHead.decode` both use.
 *
 * @example
 * const settings = detDecoder.settings(metadata.decode.det, { scoreThreshold: 0.4 });
 * detDecoder.decode(outputs, { index: 0, settings, image }).boxes;   // [{ x, y, width, height, score }, ...]
 */
export const detDecoder = defineTaskDecoder<DetPrediction, DetDecodeSettings>({
  task: 'det',
  reads: [DET_BOXES_OUTPUT, DET_SCORES_OUTPUT],
  routed: true,
  fields: ['boxes'],
  settings: (recorded, overrides) =>
    resolveSettings<DetDecodeSettings>('det', { ...DET_DECODE_DEFAULTS }, recorded, overrides, {
      scoreThreshold: probabilityRule,
      nmsIoU: probabilityRule,
      maxDetections: positiveInteger,
    }),
  decode(outputs, { index, settings, image }) {
    return {
      boxes: image.boxes(
        selectBoxes(readRow(outputs, DET_BOXES_OUTPUT, index), readRow(outputs, DET_SCORES_OUTPUT, index), settings),
      ),
    };
  },
  empty: () => ({ boxes: [] }),
  // one temperature for every box score; the score threshold is a probability
  calibration: {
    per: 'task',
    output: DET_SCORES_OUTPUT,
    scaleSettings: (s, scale) => ({ ...s, scoreThreshold: scale(s.scoreThreshold) }),
  },
});
