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
  PipelineBlocks,
  PipelineModels,
  PipelineEncoder,
  PipelineHead,
  PipelineClsHead,
  PipelineDetHead,
  PipelineSegHead,
} from './pipeline/export-pipeline';
export { createPipeline, PipelineOptionsSchema } from './pipeline/create-pipeline';
export type { Pipeline, PipelineOptions, PipelineResult, PipelineTimings, PipelineModelSource } from './pipeline/create-pipeline';
export { renderOverlayPng, writeOverlayPng } from './pipeline/overlay-png';
export { decodeOutputs, decodeBoxes, decodeMask } from './pipeline/decode-outputs';
export type { DetDecodeSettings, DecodeOutputsOptions, DecodedOutputs, GateDecision } from './pipeline/decode-outputs';
export type { OverlayOptions } from './pipeline/overlay-png';
export type { DecodeSpec } from './model/metadata';
export { DecodeSpecSchema } from './model/metadata';
// --- out-of-distribution refusal and calibrated probabilities
export { OodStatisticsSchema, OodExportSchema, OodSpecSchema, OOD_SCORE_OUTPUT, OOD_FEATURES_OUTPUT, decideOod, oodMessage } from './pipeline/ood';
export type { OodStatistics, OodExport, OodSpec, OodDecision } from './pipeline/ood';
export { OodPolicySchema } from './pipeline/ood-policy';
export type { OodPolicy } from './pipeline/ood-policy';
export { TemperatureSpecSchema, calibrationOf } from './pipeline/calibration';
export type { TemperatureSpec, TemperatureSpecInput, ProbabilityCalibration } from './pipeline/calibration';
