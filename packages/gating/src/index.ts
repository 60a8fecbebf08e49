export { version } from './version';
export { createGate } from './create-gate';
export type { Gate, GateInput, ClassProbabilities } from './create-gate';
export { GateConfigSchema, GateHeadConfigSchema } from './config';
export type { GateConfig, GateConfigInput, GateHeadConfig, GateHeadConfigInput } from './config';
export { createGateHead, GATE_HEAD_CLASS_NAME } from './gate-head';
export type { GateHead } from './gate-head';
export { gateBinaryCrossEntropy } from './losses/binary-cross-entropy';
export { gateTargets } from './gate-targets';
export { chooseThreshold } from './choose-threshold';
export type { ChooseThresholdOptions, ThresholdChoice } from './choose-threshold';
export { gateMetrics, gateRoc } from './metrics/gate-metrics';
export type { GateMetrics, GateRoc } from './metrics/gate-metrics';
export { createEncoderCache } from './encoder-cache';
export type { EncoderCache, FeatureEncoder } from './encoder-cache';
export { gatherRows } from './gather-rows';
export { createTeacherForcing, routeSamples, TeacherForcingConfigSchema } from './teacher-forcing';
export type {
  TeacherForcing,
  TeacherForcingConfig,
  TeacherForcingConfigInput,
  RoutingSource,
  RoutingInput,
  TaskRouting,
  RoutingLogEntry,
} from './teacher-forcing';
