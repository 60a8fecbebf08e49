import { DataError } from '@multichexnet/core';
import {
  decodeImageAsync,
  readDicomMeta,
  sniffImageFormat,
  type DecodedImage,
  type DicomMeta,
  type ImageDecoder,
  type ImageFormat,
} from '@multichexnet/data';
import { createSharpDecoder } from '@multichexnet/data/node';
import { assertInflatedSize, WORKER_MAX_INFLATED_BYTES } from './inflate-limit';

/** A decoded upload and what it was. */
export interface DecodedUpload {
  image: DecodedImage;
  format: ImageFormat;
  /**
   * The non-identifying DICOM attributes worth returning (modality, view); never a tag of @multichexnet/data's
   * PHI_TAGS: {@link readDicomMeta} is built from an allow-list.
   */
  dicom: Pick<
    DicomMeta,
    'modality' | 'viewPosition' | 'bodyPartExamined' | 'photometricInterpretation' | 'rows' | 'columns'
  > | null;
}

/**
 * The fast decoder of @multichexnet/data/node (sharp: libspng / libjpeg-turbo on libuv threads, off the event
 * loop, for 8- and 16-bit PNG, JPEG, and DICOM with its JPEG Baseline frames), or null where sharp cannot load; the
 * pure-JS decoders cover everything else.
 *
 * @example
 * const decoder = await createUploadDecoder(); // reuse it for every image
 */
export async function createUploadDecoder(): Promise<ImageDecoder | null> {
  return createSharpDecoder();
}

/**
 * PNG, JPEG or DICOM bytes -> gray image [H, W] row-major with its format. `label` names the input in error
 * messages; callers pass a neutral label, never a client's file name (which may hold a patient's name). `dicomHint`
 * says the input is DICOM when it lacks the Part 10 preamble (a client's `application/dicom` content type).
 * `decoder` ({@link createUploadDecoder}) takes the formats it handles off the event loop. A deflated DICOM whose
 * data set inflates past `maxInflatedBytes` is refused with an `InflateLimitError` before any decoder sees it.
 *
 * @example
 * const { image, format, dicom } = await decodeUpload(bytes, 'upload', false, await createUploadDecoder());
 */
export async function decodeUpload(
  bytes: Uint8Array,
  label: string,
  dicomHint = false,
  decoder: ImageDecoder | null = null,
  maxInflatedBytes = WORKER_MAX_INFLATED_BYTES,
): Promise<DecodedUpload> {
  if (bytes.length === 0)
    throw new DataError('Empty image upload', { file: label, expected: 'PNG, JPEG or DICOM bytes', found: '0 bytes' });
  await assertInflatedSize(bytes, maxInflatedBytes, label);
  const name = dicomHint ? `${label}.dcm` : label;
  const format = sniffImageFormat(bytes, name);
  let fast: Awaited<ReturnType<ImageDecoder>> = null;
  if (decoder !== null && format !== null) {
    try {
      fast = await decoder(bytes, name, { voi: true });
    } catch (e) {
      // A library error on bad bytes: the pure-JS decoder below says what is wrong in a DataError.
      if (e instanceof DataError) throw e;
    }
  }
  // every format and DICOM transfer syntax; the JPEG Lossless, JPEG-LS and JPEG 2000 codecs load on first use
  const image = fast?.image ?? (await decodeImageAsync(bytes, name)).image;
  let dicom: DecodedUpload['dicom'] = null;
  if (format === 'dicom') {
    const m = fast?.dicom ?? readDicomMeta(bytes, name);
    dicom = { rows: m.rows, columns: m.columns, photometricInterpretation: m.photometricInterpretation };
    if (m.modality !== undefined) dicom.modality = m.modality;
    if (m.viewPosition !== undefined) dicom.viewPosition = m.viewPosition;
    if (m.bodyPartExamined !== undefined) dicom.bodyPartExamined = m.bodyPartExamined;
  }
  return { image, format: format ?? 'dicom', dicom };
}
