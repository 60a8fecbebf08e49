export { createClsHead, CLS_HEAD_CLASS_NAME } from './head';
export type { ClsHead, ClsPrediction } from './head';
export { ClsHeadConfigSchema } from './config';
export type { ClsHeadConfig, ClsHeadConfigInput } from './config';
export { maskedBinaryCrossEntropy } from './losses/masked-bce';
export type { MaskedBceOptions } from './losses/masked-bce';
export { positiveWeightsFromLabels } from './losses/class-weights';
export type { ClassWeights } from './losses/class-weights';
// The binary ROC is core's (the gate uses it too and may not import a head); re-exported for CheXCls users.
export { auroc, rocCurve } from '@multichexnet/core';
export type { RocPoint } from '@multichexnet/core';
export { macroAuroc } from './metrics/auroc';
export type { MacroAuroc } from './metrics/auroc';
export { sensitivityAtSpecificity } from './metrics/roc-curve';
export type { OperatingPoint } from './metrics/roc-curve';
export { f1Score } from './metrics/f1';
export type { F1Options, F1Result } from './metrics/f1';
export { version } from './version';
