import { decodeDicomWithMeta, decodeImage, sniffImageFormat, SUPPORTED_TRANSFER_SYNTAXES, type DecodedImage, type DicomMeta } from '@multichexnet/data';

/** One fact about an opened file that is safe to show. */
export interface ImageFact {
  label: string;
  value: string;
}

/** A decoded image plus what the page may show about it. */
export interface OpenedImage {
  /** Gray image [H, W], row-major, values in [0, maxValue]. */
  image: DecodedImage;
  format: 'PNG' | 'JPEG' | 'DICOM';
  /** Title for the page: the file name for PNG/JPEG; never for DICOM, whose names are often UIDs. */
  title: string;
  /** Non-identifying facts only: size, depth, and for DICOM the allow-listed attributes of readDicomMeta. */
  facts: ImageFact[];
}

/** The name errors and the page use for a DICOM file instead of its own. */
const DICOM_LABEL = 'DICOM file';

function dicomFacts(meta: DicomMeta): ImageFact[] {
  const facts: ImageFact[] = [];
  const add = (label: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') facts.push({ label, value });
  };
  add('Transfer syntax', SUPPORTED_TRANSFER_SYNTAXES[meta.transferSyntaxUid] ?? meta.transferSyntaxUid);
  add('Modality', meta.modality);
  add('View', meta.viewPosition);
  add('Body part', meta.bodyPartExamined);
  add('Photometric', meta.photometricInterpretation);
  add('Bits stored', String(meta.bitsStored));
  if (meta.pixelSpacing !== undefined) add('Pixel spacing', `${meta.pixelSpacing[0]} × ${meta.pixelSpacing[1]} mm`);
  if (meta.windowCenter !== undefined && meta.windowWidth !== undefined) add('VOI window', `C ${meta.windowCenter} / W ${meta.windowWidth}`);
  if (meta.lossyImageCompression !== undefined) add('Lossy', meta.lossyImageCompression ? 'yes' : 'no');
  return facts;
}

/**
 * PNG, JPEG or DICOM bytes -> gray image [H, W] with @multichexnet/data's decoders (DICOM: modality LUT, VOI
 * window, MONOCHROME1 inversion, JPEG Baseline). A DICOM file's name is never used, not even in errors: only
 * the allow-listed, non-identifying attributes of `decodeDicomWithMeta` reach the page.
 *
 * @example
 * const opened = openImage(new Uint8Array(await file.arrayBuffer()), file.name);
 * opened.image.width; opened.facts; // [{ label: 'Size', value: '1024 × 1024' }, ...]
 */
export function openImage(bytes: Uint8Array, name: string): OpenedImage {
  const format = sniffImageFormat(bytes, name);
  if (format === 'dicom') {
    const { image, meta } = decodeDicomWithMeta(bytes, DICOM_LABEL);
    return { image, format: 'DICOM', title: DICOM_LABEL, facts: [...baseFacts(image, 'DICOM'), ...dicomFacts(meta)] };
  }
  const image = decodeImage(bytes, name);
  const label = format === 'png' ? 'PNG' : 'JPEG';
  return { image, format: label, title: name, facts: baseFacts(image, label) };
}

function baseFacts(image: DecodedImage, format: string): ImageFact[] {
  const bits = Math.ceil(Math.log2(image.maxValue + 1));
  return [
    { label: 'Format', value: format },
    { label: 'Size', value: `${image.width} × ${image.height} px` },
    { label: 'Gray levels', value: `0..${image.maxValue} (${bits}-bit)` },
  ];
}
