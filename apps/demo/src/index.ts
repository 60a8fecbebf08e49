export { DEMO_VERSION as version } from './version';
export { openEngine } from './engine/create-engine';
export type { BackendChoice, OpenedEngine } from './engine/create-engine';
export type { DemoEngine, RunOptions } from './engine/demo-engine';
export type {
  DemoResult,
  ClassProbability,
  GateDecision,
  MaskOverlay,
  TimedStep,
  ExecutionBackend,
} from './engine/demo-result';
export { readModelFiles } from './engine/model-files';
export type { ModelFiles, NamedBytes } from './engine/model-files';
export { openImage } from './image/open-image';
export type { OpenedImage, ImageFact } from './image/open-image';
