export { version } from './version';
// --- plans
export {
  TrainingPlanSchema,
  PhaseSchema,
  BatchRecipeSchema,
  RoutingConfigSchema,
  PLAN_SOURCES,
} from './plan/plan-schema';
export type {
  TrainingPlan,
  TrainingPlanInput,
  Phase,
  PhaseInput,
  BatchRecipe,
  BatchRecipeInput,
  RoutingConfig,
  PlanSource,
} from './plan/plan-schema';
export { builtinPlan, parsePlan, loadPlan, BUILTIN_PLANS, PLAN_SIZES } from './plan/builtin-plans';
export type { BuiltinPlanName, PlanSize } from './plan/builtin-plans';
// --- optimisation
export { createOptimizer } from './optim/optimizer';
export type { Optimizer, OptimizerState, OptimizerSlot } from './optim/optimizer';
export { OptimizerConfigSchema, ScheduleConfigSchema } from './optim/optimizer-config';
export type {
  OptimizerConfig,
  OptimizerConfigInput,
  ScheduleConfig,
  ScheduleConfigInput,
} from './optim/optimizer-config';
export { learningRateAt } from './optim/lr-schedule';
export { createLossWeighting, LossWeightingConfigSchema } from './losses/loss-weighting';
export type {
  GradientMap,
  GradientWeighting,
  LossCombining,
  LossWeighting,
  LossWeightingConfig,
  LossWeightingConfigInput,
  LossWeightingOptions,
  LossWeightingState,
  LossTask,
  TaskGradients,
} from './losses/loss-weighting';
// --- data
export { openTrainingData } from './data/training-data';
export { dataHealth } from './data/data-health';
export type { DataHealth } from './data/data-health';
export type { TrainingData, SourceSplits, DatasetRoots } from './data/training-data';
export { createBatchCursor } from './data/batch-cursor';
export type { BatchCursor, BatchCursorOptions } from './data/batch-cursor';
export { batchTargets, withBoxesFromMasks } from './data/batch-targets';
export type { BatchTargets } from './data/batch-targets';
// --- training
export { train } from './train/train';
export type { TrainOptions, TrainResult } from './train/train';
export { createRunnerContext, openRunFolder, resumeRun } from './train/open-run';
export type { OpenedRun, RunIdentity, RunnerOptions, RunStart } from './train/open-run';
export { runPhase, saveRunCheckpoint, runnerSeconds } from './train/phase-runner';
export type { PhaseStepResult, PhaseSteps, RunnerContext, RunnerPhase } from './train/phase-runner';
export { openMetricsLog, createMemoryMetricsLog } from './train/metrics-log';
export type { MetricsLog } from './train/metrics-log';
export { trainStep } from './train/train-step';
export type { StepContext, StepOutcome, RoutedCount } from './train/train-step';
export type { TrainEvent, TrainEventHandler } from './train/events';
export { createConsoleReporter } from './train/console-reporter';
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
export { evaluationBatches } from './eval/eval-batches';
export type { EvalPassOptions } from './eval/eval-batches';
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
export { calibrate } from './eval/calibrate';
// --- probability calibration and out-of-distribution statistics
export {
  fitTemperature,
  fitHeadTemperatures,
  reliability,
  headReliability,
  MIN_CLASS_LABELS,
} from './eval/temperature';
export type {
  TemperatureFit,
  ClassTemperatureFits,
  HeadTemperatures,
  TemperatureFitsOf,
  HeadReliability,
  ReliabilityChange,
  TaskTemperatures,
  Reliability,
  ReliabilityBin,
} from './eval/temperature';
export {
  fitOodStatistics,
  oodScore,
  oodThreshold,
  outOfFoldScores,
  enoughForRate,
  pooledFeatures,
  checkLevels,
  DEFAULT_OOD_LEVELS,
} from './eval/ood-fit';
export type { FitOodOptions } from './eval/ood-fit';
export { collectOutputs } from './eval/collect-outputs';
export type {
  CollectOutputsOptions,
  CollectedOutputs,
  CalibrationSamples,
  ClassSamples,
  TaskSamples,
} from './eval/collect-outputs';
export { fitGateThreshold } from './eval/gate-threshold';
export type { GateThresholdOptions } from './eval/gate-threshold';
export type { Calibration } from './eval/calibrate';
export { stepsTraining } from './plan/builtin-plans';
