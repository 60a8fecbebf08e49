import type { BinaryMask, Box } from '@multichexnet/core/base';
import type { DecodedImage } from '../codecs/decoded-image';
import type { Pathology } from './pathologies';

/** The four public datasets the loaders read. */
export type SourceName = 'nih' | 'rsna' | 'siim' | 'covid';

/** A box in pixels (top-left + size) with the finding it marks. */
export interface LabeledBox extends Box {
  label: Pathology;
}

/** Which task labels a sample carries (a head's loss is masked where false). */
export interface TaskAvailability {
  /** At least one entry of `labels` is not NaN. */
  cls: boolean;
  /** Pneumonia boxes are annotated (RSNA: positives have boxes, negatives none). */
  det: boolean;
  /** A pneumothorax mask is annotated (SIIM: possibly empty). */
  seg: boolean;
}

/**
 * Non-identifying facts about a sample. Never PHI: no names, IDs other than the dataset keys, dates, ages,
 * sexes, UIDs or free-text descriptions (see `PHI_TAGS`).
 */
export interface SampleMeta {
  /** `PA`, `AP`, `AP Supine`, `L`, ... (CSV column, or DICOM ViewPosition). */
  viewPosition?: string;
  /** NIH `Follow-up #`. */
  followUp?: number;
  /** DICOM Modality or COVID `modality` (`CR`, `DX`, `X-ray`). */
  modality?: string;
  /** NIH original image size before the 1024 px resize, [width, height]. */
  originalSize?: [number, number];
  /** Pixel spacing in mm, [row, column] (DICOM) or [x, y] (NIH CSV). */
  pixelSpacing?: [number, number];
  /** RSNA `stage_2_detailed_class_info.csv` class. */
  rsnaClass?: string;
  /** COVID `finding` hierarchy, e.g. ['Pneumonia', 'Viral', 'COVID-19']. */
  finding?: string[];
  /** NIH official split from train_val_list.txt / test_list.txt. */
  officialSplit?: 'trainval' | 'test';
}

/** Opt-in demographics (`demographics: true` on NIH): age in years and sex as written in the CSV. */
export interface Demographics {
  ageYears?: number;
  sex?: string;
}

/** One indexed sample before its image is read (cheap; every loader keeps all of them in memory). */
export interface SampleEntry {
  /** Dataset key: NIH `Image Index`, RSNA `patientId`, SIIM `ImageId`, COVID file name. */
  id: string;
  /** Patient key for patient-level splits. */
  patientId: string;
  source: SourceName;
  /** Image path relative to the dataset root. */
  file: string;
  /** Labels [C] over `PATHOLOGIES`; NaN = not annotated in this dataset. */
  labels: Float32Array;
  /** Boxes in the annotation space `annotationSize` (scaled to the image on load). */
  boxes?: LabeledBox[];
  /** SIIM RLE strings of each instance, in the annotation space (decoded and OR-ed on load). */
  maskRle?: string[];
  /** Pixel size the boxes / RLE refer to (1024x1024 for NIH, RSNA and SIIM). */
  annotationSize?: { width: number; height: number };
  tasks: TaskAvailability;
  meta: SampleMeta;
  demographics?: Demographics;
}

/** One loaded sample: its entry plus the decoded image and the annotations in image pixels. */
export interface Sample {
  id: string;
  patientId: string;
  source: SourceName;
  /** Gray image [H, W], row-major, values in [0, image.maxValue]. */
  image: DecodedImage;
  /** Labels [C] over `PATHOLOGIES`; NaN = not annotated in this dataset. */
  labels: Float32Array;
  /** Boxes in image pixels (top-left + size). */
  boxes?: LabeledBox[];
  /** Mask [H, W] in image pixels, 1 = pneumothorax. */
  mask?: BinaryMask;
  tasks: TaskAvailability;
  meta: SampleMeta;
  demographics?: Demographics;
}
