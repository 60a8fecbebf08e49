export * from './version';
// --- plans
export * from './plan/plan-schema';
export * from './plan/builtin-plans';
// --- optimisation
export * from './optim/optimizer';
export { DEFAULT_OPTIMIZER, OptimizerConfigSchema, ScheduleConfigSchema } from './optim/optimizer-config';
export type {
  OptimizerConfig,
  OptimizerConfigInput,
  ScheduleConfig,
  ScheduleConfigInput,
} from './optim/optimizer-config';
export * from './optim/lr-schedule';
export * from './losses/loss-weighting';
// --- data
export { openTrainingData } from './data/training-data';
export * from './data/data-health';
export type { TrainingData, SourceSplits, DatasetRoots } from './data/training-data';
export { createBatchCursor } from './data/batch-cursor';
export type { BatchCursor, BatchCursorOptions } from './data/batch-cursor';
export * from './data/batch-targets';
// --- training
export * from './train/train';
export * from './train/open-run';
export * from './train/phase-runner';
export * from './train/metrics-log';
export * from './train/train-step';
export * from './train/events';
export * from './train/console-reporter';
export {
  saveCheckpoint,
  loadCheckpoint,
  loadLatestCheckpoint,
  loadResumeCheckpoint,
  restoreBlocks,
  checkpointName,
} from './train/checkpoint';
export type { CheckpointManifest, CheckpointState, LoadedCheckpoint, RunPosition, BestState } from './train/checkpoint';
// --- evaluation
export { evaluate, summarise, taskMetrics, taskRecords, evalSummary } from './eval/evaluate';
export * from './eval/eval-batches';
export type {
  EvaluateOptions,
  EvalResult,
  EvalSets,
  EvalSources,
  DecisionSettings,
  GateEval,
  EvalRaw,
  MetricsOf,
  RecordOf,
} from './eval/evaluate';
export * from './eval/calibrate';
// --- probability calibration and out-of-distribution statistics
export * from './eval/temperature';
export * from './eval/ood-fit';
export { collectOutputs } from './eval/collect-outputs';
export type {
  CollectOutputsOptions,
  CollectedOutputs,
  CalibrationSamples,
  ClassSamples,
  TaskSamples,
} from './eval/collect-outputs';
export * from './eval/gate-threshold';
