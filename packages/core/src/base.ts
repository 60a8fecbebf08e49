// `@multichexnet/core/base`: the parts of core that need no tfjs (errors, config validation, the seeded RNG, the log,
// the plain geometry types). Code that must run without the tfjs engine (image decoding in a browser, inference on
// onnxruntime) imports these from here: the main entry loads @tensorflow/tfjs, which cannot be tree-shaken away.
// The main entry exports the same modules, so a DataError thrown here is `instanceof` the main entry's DataError.
export { CORE_VERSION as version } from './version';
export { ConfigError, DataError, assertShape } from './errors';
export type { ConfigIssue, DataErrorContext } from './errors';
export { parseConfig, z } from './config';
export { createRng, deriveSeed } from './rng';
export type { Rng } from './rng';
export { log, setLogLevel, setLogSink } from './log';
export type { LogLevel } from './log';
export { CHESTXRAY14_CLASSES } from './types';
export type { Box, ScoredBox, BinaryMask, GrayImage, ChestXray14Class } from './types';
