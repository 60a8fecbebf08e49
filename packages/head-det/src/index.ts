export const version = '0.1.0';
export { createDetHead, DET_HEAD_CLASS_NAME } from './det-head';
export type { DetHead } from './det-head';
export { detTask } from './task';
export type { DetTarget } from './task';
export {
  DetHeadConfigSchema,
  DetLossConfigSchema,
  DetDecodeConfigSchema,
  AnchorSchema,
} from './config';
export type { DetHeadConfig, DetHeadConfigInput, DetLossConfig, DetDecodeConfig } from './config';
export { DET_OUTPUT_FIELDS, DET_VALUES_PER_ANCHOR, DET_LEVEL_STRIDE } from './grid';
export type { DetLayout, ImageSize } from './grid';
export { shapeIoU } from './anchors/anchor';
export type { Anchor } from './anchors/anchor';
export { deriveAnchors } from './anchors/derive-anchors';
export type { DeriveAnchorsOptions, DerivedAnchors } from './anchors/derive-anchors';
export { RSNA_ANCHORS, RSNA_ANCHORS_MEAN_IOU, RSNA_ANCHORS_BOX_COUNT } from './anchors/rsna-anchors';
export { RSNA_ANCHOR_DERIVATION } from './anchors/rsna-anchor-derivation';
export { encodeDetTargets, disposeDetTargets } from './targets/encode-targets';
export type { DetTargets } from './targets/encode-targets';
export { detLoss } from './losses/det-loss';
export type { DetLossSettings } from './losses/det-loss';
export { decodeDetections } from './decode/decode-detections';
export type { DecodeDetectionsOptions } from './decode/decode-detections';
export { detDecoder, selectBoxes, DET_DECODE_DEFAULTS } from './decode/det-decoder';
export type { DetPrediction, DetDecodeSettings } from './decode/det-decoder';
export { detBoxesOf, DET_RAW_OUTPUT, DET_BOXES_OUTPUT, DET_SCORES_OUTPUT } from './decode/det-boxes';
export { addDetBoxesToGraph } from './onnx/det-boxes-graph';
export { nonMaxSuppression } from './decode/nms';
export { boxIoU } from './boxes/box-iou';
export { rsnaMeanAP, rsnaImageAP, RSNA_IOU_THRESHOLDS } from './metrics/rsna-map';
export type { RsnaMetricOptions } from './metrics/rsna-map';
export { apAt, positiveApAt, precisionRecallCurve } from './metrics/voc-ap';
export type { ApInterpolation, PrecisionRecallCurve, PrecisionRecallPoint, VocOptions } from './metrics/voc-ap';
export type { DetectionImage, MatchRule } from './metrics/detection-image';
export { detMetrics, detMapAt, chooseScoreThreshold, DET_SCORE_THRESHOLDS } from './metrics/det-metrics';
export type { DetMetrics } from './metrics/det-metrics';
export { toRsnaPredictionString, parseRsnaPredictionString } from './rsna/prediction-string';
