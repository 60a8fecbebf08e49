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
  TensorSpecSchema,
  ONNX_MODEL_FORMAT,
  CHECKSUM_KEY,
} from './model/metadata';
export type { ModelMetadata, GateSpec, GateSpecInput, TensorSpec, TensorLayout } from './model/metadata';
export { decodeModelProto } from './onnx/onnx-proto';
export {
  exportPipeline,
  exportModel,
  exportModelWithReport,
  writePipelineFiles,
  ExportPipelineOptionsSchema,
  DEFAULT_GATE_CLASSES,
  PIPELINE_FILES,
  featureOutputName,
} from './pipeline/export-pipeline';
export type {
  ExportPipelineOptions,
  PipelineModel,
  PipelineGate,
  PipelineGateHead,
  PipelineModels,
  PipelineEncoder,
} from './pipeline/export-pipeline';
export { createPipeline, PipelineOptionsSchema } from './pipeline/create-pipeline';
export type { Pipeline, PipelineOptions, PipelineResult, PipelineTimings, PipelineModelSource } from './pipeline/create-pipeline';
export { renderOverlayPng, writeOverlayPng } from './pipeline/overlay-png';
export { decodeOutputs, taskDecoding, BUILTIN_DECODERS } from './pipeline/decode-outputs';
export type { DecodeOutputsOptions, DecodedOutputs, TaskDecoding } from './pipeline/decode-outputs';
export { fitImageSpace } from './pipeline/fit-image-space';
export type { OverlayOptions } from './pipeline/overlay-png';
export type { DecodeSpec } from './model/metadata';
export { DecodeSpecSchema } from './model/metadata';
