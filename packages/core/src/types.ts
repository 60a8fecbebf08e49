/**
 * Plain (tensor-free) types shared by the data loaders, the heads, the runtime and the CLI. Coordinates are
 * image pixels with the origin at the top-left corner, x to the right and y down.
 */

/** An axis-aligned box, RSNA style: top-left corner plus size, in pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A predicted box with its confidence in [0, 1]. */
export interface ScoredBox extends Box {
  score: number;
}

/** A binary mask, row-major (`data[y * width + x]`), 1 = foreground, 0 = background. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A single-channel image, row-major, values as stored (e.g. 0..255 for 8-bit). */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array | Uint8Array | Uint16Array;
}

/**
 * The 14 ChestX-ray14 labels in the canonical CheXNet order (exact spellings of `Data_Entry_2017.csv`,
 * `Pleural_Thickening` with its underscore).
 */
export const CHESTXRAY14_CLASSES = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
] as const;

/** One of the 14 ChestX-ray14 labels. */
export type ChestXray14Class = (typeof CHESTXRAY14_CLASSES)[number];
