export { version } from './version';
// --- plans
export { TrainingPlanSchema, PhaseSchema, BatchRecipeSchema, RoutingConfigSchema, PLAN_SOURCES } from './plan/plan-schema';
export type { TrainingPlan, TrainingPlanInput, Phase, PhaseInput, BatchRecipe, BatchRecipeInput, RoutingConfig, PlanSource } from './plan/plan-schema';
export { builtinPlan, parsePlan, loadPlan, BUILTIN_PLANS, PLAN_SIZES } from './plan/builtin-plans';
export type { BuiltinPlanName, PlanSize } from './plan/builtin-plans';
// --- optimisation
export { createOptimizer } from './optim/optimizer';
export type { Optimizer, OptimizerState, OptimizerSlot } from './optim/optimizer';
export { OptimizerConfigSchema, ScheduleConfigSchema } from './optim/optimizer-config';
export type { OptimizerConfig, OptimizerConfigInput, ScheduleConfig, ScheduleConfigInput } from './optim/optimizer-config';
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
export { trainStep } from './train/train-step';
export type { StepContext, StepOutcome, RoutedCount } from './train/train-step';
export type { TrainEvent, TrainEventHandler } from './train/events';
export { createConsoleReporter } from './train/console-reporter';
export { saveCheckpoint, loadCheckpoint, loadLatestCheckpoint, loadResumeCheckpoint, restoreBlocks, checkpointName } from './train/checkpoint';
export type { CheckpointManifest, CheckpointState, LoadedCheckpoint, RunPosition, BestState } from './train/checkpoint';
// --- evaluation
export { evaluate, summarise, taskMetrics, taskRecords, evalSummary } from './eval/evaluate';
export { evaluationBatches } from './eval/eval-batches';
export type { EvalPassOptions } from './eval/eval-batches';
export type { EvaluateOptions, EvalResult, EvalSets, EvalSources, DecisionSettings, GateEval, EvalRaw, MetricsOf, RecordOf } from './eval/evaluate';
// --- experiments (the paper's tables)
export { experimentTable1 } from './experiments/table1';
export type { Table1, Table1Row, Table1Comparison } from './experiments/table1';
export { experimentTable2 } from './experiments/table2';
export type { Table2, Table2Row } from './experiments/table2';
export { ExperimentConfigSchema, VARIANTS } from './experiments/experiment-config';
export type { ExperimentConfig, ExperimentConfigInput, Variant } from './experiments/experiment-config';
export type { ExperimentEvent, ExperimentRuntime } from './experiments/run-variants';
export { chanceBaselines } from './experiments/baselines';
export type { ChanceBaselines } from './experiments/baselines';
export { pairedBootstrap, pairedBootstrapOverSeeds, quantileSorted, verdictOf } from './experiments/bootstrap';
export type { BootstrapOptions, DifferenceInterval, PairedRun, SetMetric, Verdict } from './experiments/bootstrap';
export { summariseSeeds } from './experiments/seed-summary';
export type { SeedSummary } from './experiments/seed-summary';
export { calibrate } from './eval/calibrate';
export type { Calibration } from './eval/calibrate';
export { stepsTraining } from './plan/builtin-plans';
