/**
 * `@multichexnet/head-cls/decode`: CheXCls's decoder on plain arrays, without tfjs (what the inference runtime
 * imports).
 */
export { clsDecoder, CLS_PROBS_OUTPUT } from './decode/cls-decoder';
export type { ClsPrediction, ClsDecodeSettings } from './decode/cls-decoder';
