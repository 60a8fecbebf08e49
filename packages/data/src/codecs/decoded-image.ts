import type { GrayImage } from '@multichexnet/core';

/**
 * Decoded gray image [H, W], row-major, values in [0, maxValue] (0 = black).
 *
 * `maxValue` is what normalisation divides by: 255 for 8-bit PNG/JPEG, 65535 for 16-bit PNG, and for DICOM the
 * top of the displayable range after the modality LUT and VOI window (e.g. 4095 for 12-bit CR).
 */
export interface DecodedImage extends GrayImage {
  maxValue: number;
}
