import { CHESTXRAY14_CLASSES } from '@multichexnet/core';
import type { PreprocessConfigInput } from '@multichexnet/data';

/** The checkpoint layouts the importer knows. */
export const PRETRAINED_LAYOUTS = ['torchvision', 'timm', 'chexnet', 'torchxrayvision'] as const;
/** One of {@link PRETRAINED_LAYOUTS}. */
export type PretrainedLayout = (typeof PRETRAINED_LAYOUTS)[number];

/**
 * torchxrayvision's 18 outputs of `DenseNet(weights="densenet121-res224-all")`, in its order (its `targets` /
 * `pathologies`); other weights of the same class leave some of them as '' (not trained).
 */
export const TORCHXRAYVISION_PATHOLOGIES = [
  'Atelectasis',
  'Consolidation',
  'Infiltration',
  'Pneumothorax',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Effusion',
  'Pneumonia',
  'Pleural_Thickening',
  'Cardiomegaly',
  'Nodule',
  'Mass',
  'Hernia',
  'Lung Lesion',
  'Fracture',
  'Lung Opacity',
  'Enlarged Cardiomediastinum',
] as const;

/** ImageNet's per-channel statistics, as torchvision's and timm's DenseNet-121 weights expect them (RGB in [0, 1]). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** What the importer knows about one layout. */
export interface LayoutSpec {
  /** Where its owners publish such checkpoints, and what they are. */
  description: string;
  /** Prefixes stripped from every key, tried in order (the first that matches wins); '' = none. */
  prefixes: readonly string[];
  /** Key of the classifier's Linear layer after the prefix (`classifier` or `classifier.0`). */
  classifierKeys: readonly string[];
  /**
   * Names of the classifier's outputs when the user names none, by output count; null = ImageNet-style head not
   * imported.
   */
  defaultClasses(outputs: number): readonly string[] | null;
  /** Whether the state dict may hold `op_threshs` (torchxrayvision's operating points). */
  opThreshs: boolean;
  /** The preprocessing the weights were trained with, for a model with `inputChannels` input channels at the stem. */
  preprocess(inputChannels: 1 | 3): PreprocessConfigInput & { size: number };
  /** How the source preprocesses, in words (recorded with the import). */
  preprocessNote: string;
}

const imagenet = (inputChannels: 1 | 3): PreprocessConfigInput & { size: number } =>
  inputChannels === 3
    ? {
        size: 224,
        fit: 'crop',
        crop: 0.875,
        interpolation: 'area',
        channels: 3,
        mean: [...IMAGENET_MEAN],
        std: [...IMAGENET_STD],
      }
    : // A folded stem reads one grey channel normalised with the channel averages (see foldStem).
      { size: 224, fit: 'crop', crop: 0.875, interpolation: 'area', channels: 1, mean: FOLDED_MEAN, std: FOLDED_STD };

/** Grey normalisation of a folded ImageNet stem: the averages of {@link IMAGENET_MEAN} and {@link IMAGENET_STD}. */
export const FOLDED_MEAN = (IMAGENET_MEAN[0] + IMAGENET_MEAN[1] + IMAGENET_MEAN[2]) / 3;
export const FOLDED_STD = (IMAGENET_STD[0] + IMAGENET_STD[1] + IMAGENET_STD[2]) / 3;

const torchvision: LayoutSpec = {
  description:
    "torchvision's densenet121 state_dict (e.g. DenseNet121_Weights.IMAGENET1K_V1) or timm's densenet121: keys features.*, classifier.*",
  prefixes: ['module.', ''],
  classifierKeys: ['classifier'],
  defaultClasses: (n) => (n === CHESTXRAY14_CLASSES.length ? CHESTXRAY14_CLASSES : null),
  opThreshs: false,
  preprocess: imagenet,
  preprocessNote: 'ImageNet: RGB in [0, 1], resize 256 + centre crop 224, per-channel mean/std',
};

/** The layouts, by name. */
export const LAYOUTS: Readonly<Record<PretrainedLayout, LayoutSpec>> = {
  torchvision,
  timm: { ...torchvision, description: "timm's densenet121 state_dict (the same keys as torchvision's)" },
  chexnet: {
    description:
      'CheXNet reimplementations (e.g. arnoweng/CheXNet model.pth.tar): torchvision densenet121 in DataParallel, keys module.densenet121.features.*, classifier Sequential(Linear(1024, 14), Sigmoid) as module.densenet121.classifier.0.*',
    prefixes: ['module.densenet121.', 'densenet121.'],
    classifierKeys: ['classifier.0', 'classifier'],
    defaultClasses: (n) => (n === CHESTXRAY14_CLASSES.length ? CHESTXRAY14_CLASSES : null),
    opThreshs: false,
    preprocess: imagenet,
    preprocessNote:
      'as CheXNet: grey film as RGB in [0, 1], resize 256, crop 224 (CheXNet averages ten crops; one centre crop here), ImageNet mean/std',
  },
  // torchvision's keys (features.*, classifier), with its own classes, operating points and preprocessing.
  torchxrayvision: {
    ...torchvision,
    description:
      'torchxrayvision DenseNet-121 (densenet121-res224-*): keys features.* with a 1-channel stem, classifier Linear(1024, 18), op_threshs',
    defaultClasses: (n) => (n === TORCHXRAYVISION_PATHOLOGIES.length ? TORCHXRAYVISION_PATHOLOGIES : null),
    opThreshs: true,
    // xrv.datasets.normalize(img, maxval) = (2 * img / maxval - 1) * 1024, i.e. (x - 0.5) / (1 / 2048) on [0, 1];
    // XRayCenterCrop keeps the largest centred square, XRayResizer scales it to 224.
    preprocess: () => ({
      size: 224,
      fit: 'crop',
      crop: 1,
      interpolation: 'area',
      channels: 1,
      mean: 0.5,
      std: 1 / 2048,
    }),
    preprocessNote: 'torchxrayvision: one grey channel scaled to [-1024, 1024], largest centred square, resized to 224',
  },
};
