export { RUNTIME_VERSION as version } from './version';
export { loadModel, verifyModelBytes } from './model/load-model';
export type { OnnxModel, LoadModelOptions, VerifiedModel } from './model/load-model';
export { runModel } from './model/run-model';
export type { TensorData } from './model/run-model';
export type { OrtBackend } from './model/ort-session';
export {
  ModelMetadataSchema,
  GateSpecSchema,
  TensorSpecSchema,
  DecodeSpecSchema,
  ONNX_MODEL_FORMAT,
  CHECKSUM_KEY,
} from './model/metadata';
export type { ModelMetadata, GateSpec, GateSpecInput, TensorSpec, TensorLayout, DecodeSpec } from './model/metadata';
export { PIPELINE_FILES, featureOutputName } from './model/pipeline-files';
export { decodeModelProto } from './onnx/onnx-proto';
export { createPipeline, PipelineOptionsSchema } from './pipeline/create-pipeline';
export type {
  Pipeline,
  PipelineOptions,
  PipelineResult,
  PipelineTimings,
  PipelineModelSource,
} from './pipeline/create-pipeline';
export { renderOverlayPng, writeOverlayPng } from './pipeline/overlay-png';
export { CAM_OUTPUT, CamOptionsSchema, decodeCams, camToImage, camHeatRgba } from './pipeline/cam';
export type { ClassActivationMap, CamOptions } from './pipeline/cam';
export { renderCamOverlayPng, writeCamOverlayPng } from './pipeline/cam-overlay';
export type { CamOverlayOptions } from './pipeline/cam-overlay';
export type { OverlayOptions } from './pipeline/overlay-png';
export { decodeOutputs, taskDecoding, BUILTIN_DECODERS } from './pipeline/decode-outputs';
export type { DecodeOutputsOptions, DecodedOutputs, TaskDecoding } from './pipeline/decode-outputs';
export { fitImageSpace } from './pipeline/fit-image-space';
// --- out-of-distribution refusal and calibrated probabilities
export { OodSpecSchema, OOD_SCORE_OUTPUT, OOD_FEATURES_OUTPUT, decideOod, oodMessage } from './pipeline/ood';
export type { OodSpec, OodDecision } from './pipeline/ood';
export { OodPolicySchema } from './pipeline/ood-policy';
export type { OodPolicy } from './pipeline/ood-policy';
export { TemperatureSpecSchema, TaskTemperatureSchema, calibrationOf } from './pipeline/calibration';
export type {
  TemperatureSpec,
  TemperatureSpecInput,
  TaskTemperature,
  ProbabilityCalibration,
} from './pipeline/calibration';
