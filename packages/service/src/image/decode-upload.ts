import { DataError } from '@multichexnet/core';
import { decodeImage, readDicomMeta, sniffImageFormat, type DecodedImage, type DicomMeta, type ImageFormat } from '@multichexnet/data';

/** A decoded upload and what it was. */
export interface DecodedUpload {
  image: DecodedImage;
  format: ImageFormat;
  /**
   * The non-identifying DICOM attributes worth returning (modality, view); never a tag of @multichexnet/data's
   * PHI_TAGS: {@link readDicomMeta} is built from an allow-list.
   */
  dicom: Pick<DicomMeta, 'modality' | 'viewPosition' | 'bodyPartExamined' | 'photometricInterpretation' | 'rows' | 'columns'> | null;
}

/**
 * PNG, JPEG or DICOM bytes -> gray image [H, W] row-major with its format. `label` names the input in error
 * messages; callers pass a neutral label, never a client's file name (which may hold a patient's name). `dicomHint`
 * says the input is DICOM when it lacks the Part 10 preamble (a client's `application/dicom` content type).
 */
export function decodeUpload(bytes: Uint8Array, label: string, dicomHint = false): DecodedUpload {
  if (bytes.length === 0) throw new DataError('Empty image upload', { file: label, expected: 'PNG, JPEG or DICOM bytes', found: '0 bytes' });
  const name = dicomHint ? `${label}.dcm` : label;
  const format = sniffImageFormat(bytes, name);
  const image = decodeImage(bytes, name);
  let dicom: DecodedUpload['dicom'] = null;
  if (format === 'dicom') {
    const m = readDicomMeta(bytes, name);
    dicom = { rows: m.rows, columns: m.columns, photometricInterpretation: m.photometricInterpretation };
    if (m.modality !== undefined) dicom.modality = m.modality;
    if (m.viewPosition !== undefined) dicom.viewPosition = m.viewPosition;
    if (m.bodyPartExamined !== undefined) dicom.bodyPartExamined = m.bodyPartExamined;
  }
  return { image, format: format ?? 'dicom', dicom };
}
