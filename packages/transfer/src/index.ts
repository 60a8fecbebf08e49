export { version } from './version';
// --- heads: swap / add without touching the other blocks
export { swapHead, addHead } from './model/swap-head';
export type { ClsGateChoice, HeadChangeOptions } from './model/swap-head';
export { cloneModel } from './model/clone-model';
export { resolveSource, modelFolderOf } from './model/model-source';
export type { ResolvedSource } from './model/model-source';
// --- theta_feats / theta_dec and freezing
export { splitClsPath, applyFreeze, releaseFreeze, FREEZE_MODES } from './model/cls-path';
export type { ClsPathSplit, FreezeMode, FreezeResult } from './model/cls-path';
export { scaleLearningRates } from './optim/scale-learning-rates';
// --- data and class imbalance
export { openTransferData } from './data/transfer-data';
export type { TransferSplits, TransferDataSource } from './data/transfer-data';
export { transferLabels, datasetLabels, checkClassesLearnable } from './data/transfer-labels';
export { oversampleIndices } from './imbalance/oversample';
export type { OversampleSummary } from './imbalance/oversample';
// --- fine-tuning
export { fineTune } from './fine-tune/fine-tune';
export type { FineTuneOptions, FineTuneResult, FineTuneEvent } from './fine-tune/fine-tune';
export { FineTuneConfigSchema, IMBALANCE_MODES } from './fine-tune/config';
export type { FineTuneConfig, FineTuneConfigInput, ImbalanceMode } from './fine-tune/config';
export { createDecoderHead } from './fine-tune/decoder-head';
// --- evaluation
export { scoreClassifier } from './eval/score-classifier';
export type { ClsScores, ScoreOptions } from './eval/score-classifier';
export { clsReport, chooseThresholds } from './eval/cls-report';
export type { ClsReport, ClassReport } from './eval/cls-report';
