// The tfjs-free part (errors, config, RNG, log, plain types, the task table's plain contract), then the rest.
export * from './base';
export { tf, TFJS_VERSION } from './tf';
export { auroc, aurocOf, rocCounts, rocCurve, rocPointsOf } from './metrics/roc';
export type { RocCounts, RocPoint } from './metrics/roc';
export { pointingGame } from './metrics/pointing-game';
export type { PointingTrial, PointingGameResult } from './metrics/pointing-game';
export { gradCam, gradCamOfBlock } from './explain/grad-cam';
export type { ActivationModel, GradCamOptions } from './explain/grad-cam';
export { OodStatisticsSchema } from './metrics/ood-statistics';
export type { OodStatistics } from './metrics/ood-statistics';
export { FEATURE_LEVELS, FEATURE_STRIDES } from './blocks/block';
export type {
  ApplyOptions,
  AnyTensor,
  Block,
  EncoderFeatures,
  FeatureChannels,
  FeatureLevel,
  Head,
} from './blocks/block';
export { LayerBlock, namedWeightsOf } from './blocks/layer-block';
export { FeatureHead, featureInput, pooledLogitModel } from './blocks/feature-head';
export type { FeatureBlock, FeatureInputConfig, PooledLogitOptions } from './blocks/feature-head';
export { blockFactory, registerBlock, registeredBlocks, serializeBlock, deserializeBlock } from './registry';
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
export {
  encodeSafetensors,
  parseSafetensors,
  isSafetensors,
  tensorAsFloat32,
  float16ToNumber,
  SAFETENSORS_DTYPES,
  SAFETENSORS_MAX_HEADER_BYTES,
} from './safetensors';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile, SafetensorsTensor } from './safetensors';
export type { WeightEntry, WeightsHeader } from './weights';
export { initBackend, currentBackend } from './backend/init-backend';
export type { BackendName, BackendInfo } from './backend/init-backend';
export { defineTaskSpec, formatMetric } from './tasks/task-spec';
export type {
  TaskSpec,
  AnyTaskSpec,
  TaskHead,
  TaskOutputSpec,
  TaskOutputContext,
  TaskHeadline,
  TaskSource,
} from './tasks/task-spec';
export type {
  OnnxGraphWriter,
  OnnxValue,
  OnnxDim,
  OnnxAttrValue,
  OnnxTensorSpec,
  OnnxTensorLayout,
} from './tasks/onnx-graph';
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
