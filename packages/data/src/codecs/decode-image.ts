import { DataError } from '@multichexnet/core';
import type { DecodedImage } from './decoded-image';
import { decodePng } from './png';
import { decodeJpeg } from './jpeg';
import { decodeDicom, type DicomDecodeOptions } from './dicom';
import { hasDicmMagic } from './dicom-parser';

/** Image container formats the loaders read. */
export type ImageFormat = 'png' | 'jpeg' | 'dicom';

/**
 * Detects the format from the first bytes (magic numbers), falling back to the file extension only for
 * DICOM files without the Part 10 preamble. Returns null when unknown.
 */
export function sniffImageFormat(bytes: Uint8Array, file = ''): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (hasDicmMagic(bytes)) return 'dicom';
  if (/\.(dcm|dicom)$/i.test(file)) return 'dicom';
  return null;
}

/**
 * PNG, JPEG or DICOM bytes → gray image [H, W], row-major, values in [0, maxValue].
 *
 * The format comes from the magic bytes, not the name; `file` is used for error messages.
 *
 * @example
 * const img = decodeImage(await readFile(path), path);
 */
export function decodeImage(bytes: Uint8Array, file = '(image)', options: DicomDecodeOptions = {}): DecodedImage {
  const format = sniffImageFormat(bytes, file);
  switch (format) {
    case 'png':
      return decodePng(bytes, file);
    case 'jpeg':
      return decodeJpeg(bytes, file);
    case 'dicom':
      return decodeDicom(bytes, file, options);
    default:
      throw new DataError('Image format is not recognised', {
        file,
        expected: 'PNG, JPEG or DICOM',
        found: bytes.length === 0 ? 'an empty file' : `first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`,
      });
  }
}
