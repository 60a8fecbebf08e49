/**
 * `@multichexnet/head-seg/decode`: CheXSeg's decoder on plain arrays, without tfjs (what the inference runtime
 * imports).
 */
export { segDecoder, SEG_MASK_OUTPUT } from './decode/seg-decoder';
export type { SegPrediction, SegDecodeSettings } from './decode/seg-decoder';
