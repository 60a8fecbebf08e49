// `@multichexnet/core/base`: the parts of core that need no tfjs (errors, config validation, the seeded RNG, the log,
// the plain geometry types, and what the tfjs-free task decoders are written against). Code that must run without the
// tfjs engine (image decoding in a browser, inference on onnxruntime, the heads' `/decode` subpaths) imports these
// from here: the main entry loads @tensorflow/tfjs, which cannot be tree-shaken away.
// The main entry exports the same modules, so a DataError thrown here is `instanceof` the main entry's DataError.
export { CORE_VERSION as version } from './version';
export { ConfigError, DataError, assertShape } from './errors';
export type { ConfigIssue, DataErrorContext } from './errors';
export { parseConfig, BlockNameSchema, FeatureChannelsSchema, SeedSchema, z } from './config';
export { createRng, deriveSeed } from './rng';
export type { Rng } from './rng';
export { log, setLogLevel, setLogSink } from './log';
export { writeFileAtomic } from './file-io';
export { RUN_FILES, MODEL_SPEC_FILE, CHECKPOINT_FILES, GALLERY_INDEX_FILE, joinRunPath, runFolder } from './run-folder';
export type { RunFolder } from './run-folder';
export { sha256Hex } from './sha256';
export type { LogLevel } from './log';
export { CHESTXRAY14_CLASSES } from './types';
export type { Box, ScoredBox, BinaryMask, GrayImage, ChestXray14Class } from './types';
// --- the task table's plain contract (decoders on plain arrays)
export { readRow } from './tasks/plain-tensor';
export type { PlainTensor } from './tasks/plain-tensor';
export { inputImageSpace } from './tasks/image-space';
export type { ImageSpace } from './tasks/image-space';
export { defineTaskDecoder, deepFreeze } from './tasks/task-decoder';
export type { TaskDecoder, TaskCalibration, DecodeContext } from './tasks/task-decoder';
export type { LabelBatch } from './tasks/label-batch';
export type { GateDecision } from './tasks/gate-decision';
export { resolveSettings, probabilityRule } from './tasks/decode-settings';
export type { SettingRule } from './tasks/decode-settings';
export { logitOf, scaleProbability, unscaleProbability } from './metrics/temperature-scaling';
