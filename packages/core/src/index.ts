export { tf, TFJS_VERSION } from './tf';
export { CORE_VERSION as version } from './version';
export { ConfigError, DataError, assertShape } from './errors';
export type { ConfigIssue, DataErrorContext } from './errors';
export { parseConfig, z } from './config';
export { createRng, deriveSeed } from './rng';
export type { Rng } from './rng';
export { auroc, aurocOf, rocCounts, rocCurve, rocPointsOf } from './metrics/roc';
export type { RocCounts, RocPoint } from './metrics/roc';
export { pointingGame } from './metrics/pointing-game';
export type { PointingTrial, PointingGameResult } from './metrics/pointing-game';
export { gradCam, gradCamOfBlock } from './explain/grad-cam';
export type { ActivationModel, GradCamOptions } from './explain/grad-cam';
export { logitOf, scaleProbability, unscaleProbability } from './metrics/temperature-scaling';
export { OodStatisticsSchema } from './metrics/ood-statistics';
export type { OodStatistics } from './metrics/ood-statistics';
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
  WEIGHTS_FILE_EXTENSION,
  LEGACY_WEIGHTS_FILE_EXTENSION,
} from './weights';
export { writeFileAtomic } from './file-io';
export { RUN_FILES, MODEL_SPEC_FILE, CHECKPOINT_FILES, GALLERY_INDEX_FILE, joinRunPath, runFolder } from './run-folder';
export type { RunFolder } from './run-folder';
export { encodeSafetensors, parseSafetensors, isSafetensors, tensorAsFloat32, float16ToNumber, SAFETENSORS_DTYPES, SAFETENSORS_MAX_HEADER_BYTES } from './safetensors';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile, SafetensorsTensor } from './safetensors';
export type { WeightEntry, WeightsHeader } from './weights';
export { initBackend, currentBackend } from './backend/init-backend';
export type { BackendName, BackendInfo } from './backend/init-backend';
export { CHESTXRAY14_CLASSES } from './types';
export type { Box, ScoredBox, BinaryMask, GrayImage, ChestXray14Class } from './types';
// --- the task table's contract (the plain part is also @multichexnet/core/base)
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
export { defineTaskSpec, formatMetric } from './tasks/task-spec';
export type { TaskSpec, AnyTaskSpec, TaskHead, TaskOutputSpec, TaskOutputContext, TaskHeadline, TaskSource } from './tasks/task-spec';
export type { OnnxGraphWriter, OnnxValue, OnnxDim, OnnxAttrValue, OnnxTensorSpec, OnnxTensorLayout } from './tasks/onnx-graph';
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
