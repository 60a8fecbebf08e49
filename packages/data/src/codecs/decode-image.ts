import { DataError } from '@multichexnet/core/base';
import type { DecodedImage } from './decoded-image';
import { decodePng } from './png';
import { decodeJpeg } from './jpeg';
import { decodeDicom, decodeDicomAsync, type DicomDecodeOptions } from './dicom';
import { hasDicmMagic } from './dicom-parser';
import type { DicomMeta } from './dicom-meta';
import type { PreprocessConfig } from '../preprocess/config';

/** Image container formats the loaders read. */
export type ImageFormat = 'png' | 'jpeg' | 'dicom';

/**
 * Detects the format from the first bytes (magic numbers), falling back to the file extension only for
 * DICOM files without the Part 10 preamble. Returns null when unknown.
 */
export function sniffImageFormat(bytes: Uint8Array, file = ''): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return 'png';
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
        found:
          bytes.length === 0
            ? 'an empty file'
            : `first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`,
      });
  }
}

/** Options of {@link decodeImageAsync} and of an {@link ImageDecoder}. */
export interface ImageDecodeOptions extends DicomDecodeOptions {
  /**
   * The model's fit, when only the model input is wanted: a decoder that resizes natively (sharp) may then return
   * the image already resized to the fitted size, with `originalSize` set; `fitImage` takes it from there as if it
   * had resized the full image itself. Decoders without a native resize ignore it.
   */
  fit?: Pick<PreprocessConfig, 'size' | 'fit' | 'interpolation' | 'crop'>;
}

/**
 * A custom image decoder (e.g. the sharp fast path of `@multichexnet/data/node`) for any of the formats;
 * `dicom` carries the file's safe attributes when it was a DICOM. Returns null to fall back to the built-in
 * pure-JS decoders.
 */
export type ImageDecoder = (
  bytes: Uint8Array,
  file: string,
  options: ImageDecodeOptions & { voi: boolean },
) => Promise<{ image: DecodedImage; dicom?: DicomMeta } | null>;

/**
 * PNG, JPEG or DICOM bytes → gray image [H, W] (row-major, values in [0, maxValue]) with its format and, for DICOM,
 * its non-identifying attributes: {@link decodeImage} for every DICOM transfer syntax of
 * `SUPPORTED_TRANSFER_SYNTAXES`, the JPEG Lossless, JPEG-LS and JPEG 2000 codecs imported on first use. `decoder`
 * (e.g. `await createSharpDecoder()` in Node) goes first for what it handles.
 *
 * @example
 * const { image, format, dicom } = await decodeImageAsync(bytes, 'cr.dcm'); // dicom?.transferSyntaxUid
 */
export async function decodeImageAsync(
  bytes: Uint8Array,
  file = '(image)',
  options: ImageDecodeOptions & { decoder?: ImageDecoder | null } = {},
): Promise<{ image: DecodedImage; format: ImageFormat; dicom?: DicomMeta }> {
  const { decoder, ...rest } = options;
  const format = sniffImageFormat(bytes, file);
  if (decoder !== undefined && decoder !== null && format !== null) {
    const got = await decoder(bytes, file, { ...rest, voi: rest.voi !== false });
    if (got !== null) return { ...got, format };
  }
  if (format === 'dicom') {
    const { image, meta } = await decodeDicomAsync(bytes, file, rest);
    return { image, format, dicom: meta };
  }
  return { image: decodeImage(bytes, file, rest), format: format ?? 'dicom' };
}
