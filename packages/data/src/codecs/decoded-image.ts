import type { GrayImage } from '@multichexnet/core/base';

/**
 * Decoded gray image [H, W], row-major, values in [0, maxValue] (0 = black).
 *
 * `maxValue` is what normalisation divides by: 255 for 8-bit PNG/JPEG, 65535 for 16-bit PNG, and for DICOM the
 * top of the displayable range after the modality LUT and VOI window (e.g. 4095 for 12-bit CR).
 */
export interface DecodedImage extends GrayImage {
  maxValue: number;
  /**
   * For colour sources (RGB, RGBA, palette): the fraction of pixels whose channels differ by more than 1/8 of the
   * full scale, measured before the conversion to luminance. Absent for gray sources. See `assertRadiograph`.
   */
  colourFraction?: number;
  /**
   * Set when a decoder already resized the image for the model (`ImageDecodeOptions.fit`, e.g. sharp's native
   * resize): the size of the file's full image, which `fitImage` maps boxes and masks back to. `width` x `height`
   * is then the fitted size, not the film's.
   */
  originalSize?: { width: number; height: number };
}
