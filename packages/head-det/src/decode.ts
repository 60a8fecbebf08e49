/**
 * `@multichexnet/head-det/decode`: CheXDet's decoding on plain arrays, without tfjs (what the inference runtime
 * imports): raw output -> candidate boxes, and candidates -> an image's boxes (threshold, NMS).
 */
export { detDecoder, selectBoxes, DET_DECODE_DEFAULTS } from './decode/det-decoder';
export type { DetPrediction, DetDecodeSettings } from './decode/det-decoder';
export { detBoxesOf, DET_RAW_OUTPUT, DET_BOXES_OUTPUT, DET_SCORES_OUTPUT } from './decode/det-boxes';
export { nonMaxSuppression } from './decode/nms';
