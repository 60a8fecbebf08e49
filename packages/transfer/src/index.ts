export * from './version';
// --- heads: swap / add without touching the other blocks
export * from './model/swap-head';
export * from './model/clone-model';
export * from './model/model-source';
// --- theta_feats / theta_dec and freezing
export * from './model/cls-path';
export * from './optim/scale-learning-rates';
// --- data and class imbalance
export * from './data/transfer-data';
export * from './data/transfer-labels';
export * from './imbalance/oversample';
// --- fine-tuning
export { fineTune } from './fine-tune/fine-tune';
export type { FineTuneOptions, FineTuneResult, FineTuneEvent } from './fine-tune/fine-tune';
export * from './fine-tune/config';
export * from './fine-tune/decoder-head';
// --- evaluation
export * from './eval/score-classifier';
export * from './eval/cls-report';
