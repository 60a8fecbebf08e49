import {
  decodeDicomAsync,
  decodeImage,
  sniffImageFormat,
  SUPPORTED_TRANSFER_SYNTAXES,
  type DecodedImage,
  type DicomCodecWasmUrls,
  type DicomMeta,
} from '@multichexnet/data/decode';
// URLs only: the bundler emits each .wasm as an asset, fetched the first time a file needs its codec
import charlsWasm from '@cornerstonejs/codec-charls/decodewasm?url';
import openjpegWasm from '@cornerstonejs/codec-openjpeg/decodewasm?url';

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

/** In a page the codecs fetch their WebAssembly from the app; in Node (tests) they read it from their packages. */
const CODEC_WASM: DicomCodecWasmUrls =
  typeof document === 'undefined' ? {} : { charls: charlsWasm, openjpeg: openjpegWasm };

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
  if (meta.windowCenter !== undefined && meta.windowWidth !== undefined)
    add('VOI window', `C ${meta.windowCenter} / W ${meta.windowWidth}`);
  if (meta.lossyImageCompression !== undefined) add('Lossy', meta.lossyImageCompression ? 'yes' : 'no');
  return facts;
}

/**
 * PNG, JPEG or DICOM bytes -> gray image [H, W] with @multichexnet/data's decoders (DICOM: every transfer syntax it
 * reads, the JPEG Lossless, JPEG-LS and JPEG 2000 codecs loaded only when a file needs one; modality LUT, VOI LUT or
 * window, MONOCHROME1 / Presentation LUT inversion). A DICOM file's name is never used, not even in errors: only
 * the allow-listed, non-identifying attributes of `decodeDicomAsync` reach the page.
 *
 * @example
 * const opened = await openImage(new Uint8Array(await file.arrayBuffer()), file.name);
 * opened.image.width; opened.facts; // [{ label: 'Size', value: '1024 × 1024' }, ...]
 */
export async function openImage(bytes: Uint8Array, name: string): Promise<OpenedImage> {
  const format = sniffImageFormat(bytes, name);
  if (format === 'dicom') {
    const { image, meta } = await decodeDicomAsync(bytes, DICOM_LABEL, { codecWasmUrls: CODEC_WASM });
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
