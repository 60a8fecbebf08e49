/**
 * `@multichexnet/core/plain`: the part of core that needs no tfjs: the error classes, the plain geometry types and
 * what the tfjs-free task decoders are written against. The inference runtime and the heads' `/decode` subpaths
 * import only this entry, so their module graph holds no tfjs.
 */
export { ConfigError, DataError } from './errors';
export type { ConfigIssue, DataErrorContext } from './errors';
export { CHESTXRAY14_CLASSES } from './types';
export type { Box, ScoredBox, BinaryMask, GrayImage, ChestXray14Class } from './types';
export { readRow } from './tasks/plain-tensor';
export type { PlainTensor } from './tasks/plain-tensor';
export { inputImageSpace } from './tasks/image-space';
export type { ImageSpace } from './tasks/image-space';
export { defineTaskDecoder, deepFreeze } from './tasks/task-decoder';
export type { TaskDecoder, DecodeContext } from './tasks/task-decoder';
export type { LabelBatch } from './tasks/label-batch';
export type { GateDecision } from './tasks/gate-decision';
export { resolveSettings, probabilityRule } from './tasks/decode-settings';
export type { SettingRule } from './tasks/decode-settings';
export { CORE_VERSION as version } from './version';
