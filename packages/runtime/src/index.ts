export { RUNTIME_VERSION as version } from './version';
export * from './model/load-model';
export * from './model/run-model';
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
export * from './model/pipeline-files';
export { decodeModelProto } from './onnx/onnx-proto';
export * from './pipeline/create-pipeline';
export { renderOverlayPng, writeOverlayPng } from './pipeline/overlay-png';
export { CAM_OUTPUT, CamOptionsSchema, decodeCams, camToImage, camHeatRgba } from './pipeline/cam';
export type { ClassActivationMap, CamOptions } from './pipeline/cam';
export * from './pipeline/cam-overlay';
export type { OverlayOptions } from './pipeline/overlay-png';
export { decodeOutputs, taskDecoding, BUILTIN_DECODERS } from './pipeline/decode-outputs';
export type { DecodeOutputsOptions, DecodedOutputs, TaskDecoding } from './pipeline/decode-outputs';
export * from './pipeline/fit-image-space';
// --- out-of-distribution refusal and calibrated probabilities
export * from './pipeline/ood';
export { OodPolicySchema } from './pipeline/ood-policy';
export type { OodPolicy } from './pipeline/ood-policy';
export { TemperatureSpecSchema, TaskTemperatureSchema, calibrationOf } from './pipeline/calibration';
export type {
  TemperatureSpec,
  TemperatureSpecInput,
  TaskTemperature,
  ProbabilityCalibration,
} from './pipeline/calibration';
