export { RUNTIME_VERSION as version } from './version';
export { exportOnnx, exportOnnxWithReport, ExportOnnxOptionsSchema, ONNX_IR_VERSION } from './export/export-onnx';
export type { ExportOnnxOptions, Exportable, ExportReport } from './export/export-onnx';
export { supportedLayerClasses } from './export/convert-graph';
export { writeOnnxFile } from './export/write-onnx-file';
export type { ConversionStats } from './export/convert-graph';
export { loadModel, verifyModelBytes } from './model/load-model';
export type { OnnxModel, LoadModelOptions, VerifiedModel } from './model/load-model';
export { runModel } from './model/run-model';
export type { TensorData } from './model/run-model';
export type { OrtBackend } from './model/ort-session';
export {
  ModelMetadataSchema,
  GateSpecSchema,
  PreprocessingSpecSchema,
  TensorSpecSchema,
  ONNX_MODEL_FORMAT,
  CHECKSUM_KEY,
} from './model/metadata';
export type { ModelMetadata, GateSpec, GateSpecInput, PreprocessingSpec, PreprocessingSpecInput, TensorSpec, TensorLayout } from './model/metadata';
export { decodeModelProto } from './onnx/onnx-proto';
