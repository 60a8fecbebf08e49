export { tf, TFJS_VERSION } from './tf';
export { CORE_VERSION as version } from './version';
export { ConfigError, DataError, assertShape } from './errors';
export type { ConfigIssue, DataErrorContext } from './errors';
export { parseConfig, z } from './config';
export { createRng, deriveSeed } from './rng';
export type { Rng } from './rng';
export { auroc, aurocOf, rocCounts, rocCurve, rocPointsOf } from './metrics/roc';
export type { RocCounts, RocPoint } from './metrics/roc';
export { logitOf, scaleProbability, unscaleProbability } from './metrics/temperature-scaling';
export { log, setLogLevel, setLogSink } from './log';
export type { LogLevel } from './log';
export { FEATURE_LEVELS, FEATURE_STRIDES } from './blocks/block';
export type { ApplyOptions, AnyTensor, Block, EncoderFeatures, FeatureChannels, FeatureLevel, Head } from './blocks/block';
export { LayerBlock, namedWeightsOf } from './blocks/layer-block';
export { registerBlock, registeredBlocks, serializeBlock, deserializeBlock } from './registry';
export type { BlockSpec } from './registry';
export {
  encodeBlockWeights,
  decodeWeightsFile,
  loadBlockWeightsFromBytes,
  loadBlockFromBytes,
  saveBlockWeights,
  loadBlockWeights,
  loadBlock,
  writeFileAtomic,
  WEIGHTS_FILE_EXTENSION,
  LEGACY_WEIGHTS_FILE_EXTENSION,
} from './weights';
export { encodeSafetensors, parseSafetensors, isSafetensors, tensorAsFloat32, float16ToNumber, SAFETENSORS_DTYPES, SAFETENSORS_MAX_HEADER_BYTES } from './safetensors';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile, SafetensorsTensor } from './safetensors';
export type { WeightEntry, WeightsHeader } from './weights';
export { initBackend, currentBackend } from './backend/init-backend';
export type { BackendName, BackendInfo } from './backend/init-backend';
export { CHESTXRAY14_CLASSES } from './types';
export type { Box, ScoredBox, BinaryMask, GrayImage, ChestXray14Class } from './types';
export { batchNorm } from './layers/batch-norm';
export type { BatchNormArgs } from './layers/batch-norm';
export { BatchNorm, BatchNormReLU, BATCH_NORM_RELU_CLASS_NAME } from './layers/batch-norm';
export { batchNormTraining } from './layers/batch-norm-training';
export type { BatchNormTrainingResult } from './layers/batch-norm-training';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './backend/kernels/register';
export { WasmHeapError, wasmHeapStats } from './backend/kernels/heap';
export type { HeapShortage, WasmHeapStats } from './backend/kernels/heap';
export type { BackendOptions } from './backend/init-backend';
export type { WasmKernelOptions } from './backend/kernels/register';
