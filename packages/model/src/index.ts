export { version } from './version';
// --- the task table
export { BUILTIN_TASKS, taskTable } from './table';
export type { HeadOf } from './table';
// --- the model
export { createMultiCheXNet, ENCODER_BLOCK, GATE_BLOCK } from './multichexnet';
export type {
  MultiCheXNet,
  MultiCheXNetParts,
  HeadSet,
  ForwardOutputs,
  Gating,
  ImagePrediction,
  TaskPredictionFields,
  PredictOptions,
  ModelSpec,
  ToLayersModelOptions,
  TrainableVariable,
} from './multichexnet';
export { buildModel, configuredTasks, ModelConfigSchema } from './model-config';
export type { ModelConfig, ModelConfigInput } from './model-config';
export { loadMultiCheXNet } from './load-model';
