export const version = '0.1.0';

// --- datasets: the four public datasets behind one signature, labels harmonised to PATHOLOGIES
export { openNih, NihOptionsSchema, parseNihIndex, parseNihBoxes, parseNameList } from './datasets/nih';
export type { NihOptions } from './datasets/nih';
export { openRsna, RsnaOptionsSchema, parseRsnaLabels, parseRsnaClassInfo } from './datasets/rsna';
export type { RsnaOptions, RsnaPatient } from './datasets/rsna';
export { openSiim, SiimOptionsSchema, parseSiimRle } from './datasets/siim';
export type { SiimOptions, SiimImage } from './datasets/siim';
export { openCovid, CovidOptionsSchema, parseCovidMetadata, covidLabels, splitFinding } from './datasets/covid';
export type { CovidOptions, CovidRow } from './datasets/covid';
export { BaseDatasetOptionsSchema } from './datasets/options';
export type { Dataset, BadSamplePolicy, ImageDecoder } from './datasets/dataset';
export type * from './datasets/sample';
export { PATHOLOGIES, pathologyIndex, isPathology, harmoniseLabels, selectClasses } from './datasets/pathologies';
export type { Pathology } from './datasets/pathologies';

// --- splits
export { splitByPatient, SplitConfigSchema } from './splits/patient-split';
export type { SplitConfig, PatientSplits } from './splits/patient-split';

// --- files: where bytes come from (Node folders via @multichexnet/data/node, or memory/browser files)
export type { FileSource } from './io/file-source';
export { createMemorySource } from './io/memory-source';
export type { FileBytes } from './io/memory-source';
export { resolveInside } from './io/safe-path';

// --- image codecs and preprocessing to the model input; also alone, without tfjs or sharp: '@multichexnet/data/decode'
export * from './decode';

// --- training-side preprocessing: whole samples (image, boxes, mask) and augmentation
export { AugmentConfigSchema } from './preprocess/config';
export type { AugmentConfig } from './preprocess/config';
export { fitSample } from './preprocess/fit-sample';
export type { FittedSample } from './preprocess/fit-sample';
export { drawAugment, finishSample, NO_AUGMENT } from './preprocess/augment';
export type { AugmentParams, ModelSample } from './preprocess/augment';

// --- batching
export { createBatchStream, BatchStreamOptionsSchema, loadFittedInThread } from './batching/batch-stream';
export type { BatchStream, BatchStreamOptions, BatchStreamStats, SampleLoader } from './batching/batch-stream';
export type { Batch } from './batching/batch';
export { batchToTensors, disposeBatchTensors } from './batching/batch-to-tensors';
export type { BatchTensors } from './batching/batch-to-tensors';
export { createMemoryCache } from './batching/sample-cache';
export type { SampleCache } from './batching/sample-cache';
