export { version } from './version';
export { exportOnnx, exportOnnxWithReport, ExportOnnxOptionsSchema, ONNX_IR_VERSION } from './export-onnx';
export type { ExportOnnxOptions, Exportable, ExportReport } from './export-onnx';
export { supportedLayerClasses } from './convert-graph';
export type { ConversionStats } from './convert-graph';
export { writeOnnxFile } from './write-onnx-file';
export {
  exportPipeline,
  exportModel,
  exportModelWithReport,
  writePipelineFiles,
  ExportPipelineOptionsSchema,
  DEFAULT_GATE_CLASSES,
} from './pipeline/export-pipeline';
export type {
  ExportPipelineOptions,
  PipelineModel,
  PipelineGate,
  PipelineGateHead,
  PipelineModels,
  PipelineEncoder,
} from './pipeline/export-pipeline';
export { OodExportSchema } from './pipeline/ood-output';
export type { OodExport } from './pipeline/ood-output';
