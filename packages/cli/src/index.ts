export * from './version';
// --- the command
export * from './run-cli';
export { createProgram } from './program';
export { EXIT_CODES, UsageError, describeError, exitCodeOf } from './cli-error';
export type { ExitCode } from './cli-error';
export * from './io/cli-io';
export * from './io/progress';
export { createTrainProgress } from './io/train-progress';
// --- run folders and the report
export * from './report/render-report';
export * from './report/load-run';
export { renderChartSvg } from './report/render-chart';
export { paperTable } from './report/paper-tables';
export type {
  ReportData,
  TestEvaluation,
  ClassRoc,
  Gallery,
  GalleryItem,
  GalleryBox,
  ResultTable,
  MetricsRecord,
} from './report/report-data';
export { exportRunModel } from './run/export-model';
export type { ExportedFiles } from './run/export-model';
export { evaluateRun } from './run/evaluate-run';
export * from './run/gallery';
// --- predict
export * from './predict/predictor';
export { runPredict } from './actions/predict';
export type { PredictCommandOptions, PredictOutput, PredictedImage } from './actions/predict';
export { runQuickstart, QuickstartConfigSchema } from './actions/quickstart';
export type { QuickstartConfigInput } from './actions/quickstart';
