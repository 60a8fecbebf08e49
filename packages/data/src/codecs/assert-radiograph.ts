import { DataError } from '@multichexnet/core/base';
import type { DecodedImage } from './decoded-image';

/** The smallest side a radiograph may have: below it there is no anatomy to read (icons, thumbnails, placeholders). */
export const MIN_RADIOGRAPH_SIDE = 16;
/**
 * The largest number of pixels accepted: 2^25 (e.g. 5792 x 5792), well above the largest detectors (43 cm at
 * 0.1 mm is 4300 x 4300) and small enough that decoding and normalising one image stays within a few hundred MiB.
 */
export const MAX_RADIOGRAPH_PIXELS = 2 ** 25;
/** Above this fraction of coloured pixels an image is a colour picture, not an X-ray stored as RGB. */
export const MAX_COLOUR_FRACTION = 0.05;

/**
 * Decoded image [H, W] → nothing, or a {@link DataError} when it cannot be a chest radiograph: a side under
 * {@link MIN_RADIOGRAPH_SIDE} pixels (a 1x1 or icon-sized image), more than {@link MAX_RADIOGRAPH_PIXELS} pixels, or
 * a colour picture (more than {@link MAX_COLOUR_FRACTION} of its pixels coloured, as the decoders measure on RGB
 * sources; gray pixels stored as RGB and small coloured annotations pass).
 *
 * The decoders themselves accept any valid PNG, JPEG or DICOM; the loaders, the CLI and the service call this on
 * what they feed the model, so a wrong file fails with a message instead of producing a confident prediction.
 *
 * @example
 * const img = decodeImage(bytes, 'scan.png');
 * assertRadiograph(img, 'scan.png'); // throws on a 1x1 PNG or a holiday photo
 */
export function assertRadiograph(image: DecodedImage, file = '(image)'): void {
  // the film's own size, also when its decoder already resized it for the model
  const { width, height } = image.originalSize ?? image;
  if (width < MIN_RADIOGRAPH_SIDE || height < MIN_RADIOGRAPH_SIDE) {
    throw new DataError('Image is too small to be a chest X-ray', {
      file,
      field: 'width x height',
      expected: `at least ${MIN_RADIOGRAPH_SIDE} x ${MIN_RADIOGRAPH_SIDE} pixels`,
      found: `${width} x ${height}`,
    });
  }
  if (width * height > MAX_RADIOGRAPH_PIXELS) {
    throw new DataError('Image is too large to be a chest X-ray', {
      file,
      field: 'width x height',
      expected: `at most ${MAX_RADIOGRAPH_PIXELS} pixels`,
      found: `${width} x ${height}`,
    });
  }
  const colour = image.colourFraction ?? 0;
  if (colour > MAX_COLOUR_FRACTION) {
    throw new DataError('Image is a colour picture, not a grayscale X-ray', {
      file,
      field: 'pixels',
      expected: `gray pixels (at most ${(MAX_COLOUR_FRACTION * 100).toFixed(0)}% coloured)`,
      found: `${(colour * 100).toFixed(1)}% coloured`,
    });
  }
}
