// `@multichexnet/runtime/format`: the model file format, what `@multichexnet/export` writes and this package reads:
// the ONNX protobuf encoding and decoding, the `multichexnet.*` metadata and its checksum, the run folder's file
// names. Like the main entry it imports no tfjs.
export { RUNTIME_VERSION } from './version';
export * from './onnx/onnx-proto';
export * from './model/metadata';
export * from './model/checksum';
export * from './model/pipeline-files';
export { CAM_OUTPUT } from './pipeline/cam';
export { OodSpecSchema, OOD_SCORE_OUTPUT, OOD_FEATURES_OUTPUT } from './pipeline/ood';
export type { OodSpec } from './pipeline/ood';
export { TemperatureSpecSchema } from './pipeline/calibration';
export type { TemperatureSpec, TemperatureSpecInput } from './pipeline/calibration';
