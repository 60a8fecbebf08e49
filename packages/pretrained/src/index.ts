export { version } from './version';
export { importCheckpoint, ImportOptionsSchema } from './import/import-checkpoint';
export type { ImportOptions, ImportedModel, PretrainedProvenance } from './import/import-checkpoint';
export { foldStem } from './import/fold-stem';
export { readCheckpoint } from './checkpoint/read-checkpoint';
export { conversionCommand } from './checkpoint/state-dict';
export type { CheckpointTensor, StateDict, CheckpointSource } from './checkpoint/state-dict';
export {
  PRETRAINED_LAYOUTS,
  LAYOUTS,
  TORCHXRAYVISION_PATHOLOGIES,
  IMAGENET_MEAN,
  IMAGENET_STD,
  FOLDED_MEAN,
  FOLDED_STD,
} from './layouts/layouts';
export type { PretrainedLayout, LayoutSpec } from './layouts/layouts';
export { denseNet121Keys } from './layouts/densenet-keys';
export type { ExpectedTensor } from './layouts/densenet-keys';
export { fromPretrained, resolvePretrained, pretrainedLocation, DEFAULT_HF_ENDPOINT } from './hub/from-pretrained';
export type { FromPretrainedOptions } from './hub/from-pretrained';
export { downloadToCache } from './hub/download';
export type { DownloadOptions, DownloadProgress, CachedFile } from './hub/download';
