import type { DataSet } from 'dicom-parser';
import { DataError } from '@multichexnet/core/base';
import { parseDicomBytes } from './dicom-parser';
import { DEFAULT_MAX_INFLATED_BYTES } from './dicom-inflate';

/**
 * The non-identifying DICOM attributes the loaders use, as plain JSON (no tensor; nothing from {@link PHI_TAGS}).
 *
 * Built from an allow-list, so a tag is exposed only after someone decides it is safe.
 */
export interface DicomMeta {
  transferSyntaxUid: string;
  sopClassUid?: string;
  modality?: string;
  bodyPartExamined?: string;
  viewPosition?: string;
  conversionType?: string;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  planarConfiguration: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  numberOfFrames: number;
  /** Row and column spacing in mm, (0028,0030). */
  pixelSpacing?: [number, number];
  rescaleSlope: number;
  rescaleIntercept: number;
  /** First VOI window, (0028,1050) / (0028,1051), when present. */
  windowCenter?: number;
  windowWidth?: number;
  voiLutFunction?: string;
  /** Items of the VOI LUT Sequence (0028,3010), when present. */
  voiLutCount?: number;
  /** Presentation LUT Shape (2050,0020): `IDENTITY` or `INVERSE`. */
  presentationLutShape?: string;
  lossyImageCompression?: boolean;
}

/** Implicit VR little endian: the default when a file has no meta header. */
const IMPLICIT_LE = '1.2.840.10008.1.2';

/**
 * dicom-parser's accessors throw on malformed elements (a TypeError, or a bare string such as "attempt to read
 * past end of buffer"); in a file that is bad data, so it becomes a DataError naming the element.
 */
function guarded<T>(ds: DataSet, tag: string, file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const found = err instanceof Error ? err.message : String(err);
    throw new DataError(
      'DICOM element cannot be read',
      {
        file,
        field: `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5).toUpperCase()})`,
        expected: 'a well-formed element',
        found,
      },
      { cause: err },
    );
  }
}

function str(ds: DataSet, tag: string, file: string): string | undefined {
  const v = guarded(ds, tag, file, () => ds.string(tag));
  return v === undefined || v === '' ? undefined : v;
}

function num(ds: DataSet, tag: string, file: string): number | undefined {
  const el = ds.elements[tag];
  if (el === undefined || el.length === 0) return undefined;
  // US in explicit VR; in implicit VR dicom-parser has no VR, and these tags are all US by the standard.
  return guarded(ds, tag, file, () => ds.uint16(tag));
}

/**
 * Decimal string value `index` of an element: undefined when absent or empty, NaN or ±Infinity when present but
 * not a finite number. (dicom-parser's floatString throws a TypeError when the element has fewer values than
 * `index + 1`, and parses "12abc" as 12.)
 */
export function decimalValue(ds: DataSet, tag: string, index = 0, file = '(dicom)'): number | undefined {
  const el = ds.elements[tag];
  if (el === undefined || el.length === 0) return undefined;
  const part = (guarded(ds, tag, file, () => ds.string(tag)) ?? '').split('\\')[index]?.trim();
  return part === undefined || part === '' ? undefined : Number(part);
}

function ds1(ds: DataSet, tag: string, index: number, file: string): number | undefined {
  const v = decimalValue(ds, tag, index, file);
  return v === undefined || !Number.isFinite(v) ? undefined : v;
}

/** Extracts the allow-listed attributes from a parsed data set (`file` names it in errors). */
export function metaFromDataSet(ds: DataSet, file = '(dicom)'): DicomMeta {
  const rows = num(ds, 'x00280010', file) ?? 0;
  const columns = num(ds, 'x00280011', file) ?? 0;
  const bitsAllocated = num(ds, 'x00280100', file) ?? 8;
  const bitsStored = num(ds, 'x00280101', file) ?? bitsAllocated;
  const meta: DicomMeta = {
    transferSyntaxUid: str(ds, 'x00020010', file) ?? IMPLICIT_LE,
    rows,
    columns,
    samplesPerPixel: num(ds, 'x00280002', file) ?? 1,
    planarConfiguration: num(ds, 'x00280006', file) ?? 0,
    photometricInterpretation: str(ds, 'x00280004', file) ?? 'MONOCHROME2',
    bitsAllocated,
    bitsStored,
    highBit: num(ds, 'x00280102', file) ?? bitsStored - 1,
    pixelRepresentation: num(ds, 'x00280103', file) ?? 0,
    numberOfFrames: guarded(ds, 'x00280008', file, () => ds.intString('x00280008')) ?? 1,
    rescaleSlope: ds1(ds, 'x00281053', 0, file) ?? 1,
    rescaleIntercept: ds1(ds, 'x00281052', 0, file) ?? 0,
  };
  const optional: [keyof DicomMeta, string | undefined][] = [
    ['sopClassUid', str(ds, 'x00080016', file)],
    ['modality', str(ds, 'x00080060', file)],
    ['bodyPartExamined', str(ds, 'x00180015', file)],
    ['viewPosition', str(ds, 'x00185101', file)],
    ['conversionType', str(ds, 'x00080064', file)],
    ['voiLutFunction', str(ds, 'x00281056', file)],
    ['presentationLutShape', str(ds, 'x20500020', file)],
  ];
  for (const [k, v] of optional) if (v !== undefined) (meta as unknown as Record<string, unknown>)[k] = v;
  const sy = ds1(ds, 'x00280030', 0, file);
  const sx = ds1(ds, 'x00280030', 1, file);
  if (sy !== undefined) meta.pixelSpacing = [sy, sx ?? sy];
  const wc = ds1(ds, 'x00281050', 0, file);
  const ww = ds1(ds, 'x00281051', 0, file);
  if (wc !== undefined && ww !== undefined) {
    meta.windowCenter = wc;
    meta.windowWidth = ww;
  }
  const voiLuts = ds.elements.x00283010?.items?.length ?? 0;
  if (voiLuts > 0) meta.voiLutCount = voiLuts;
  const lossy = str(ds, 'x00282110', file);
  if (lossy !== undefined) meta.lossyImageCompression = lossy === '01';
  return meta;
}

/**
 * DICOM bytes → the non-identifying attributes ({@link DicomMeta}); stops before the pixel data.
 *
 * Never returns a PHI attribute (names, IDs, dates, UIDs, descriptions: see {@link PHI_TAGS}).
 *
 * @example
 * const meta = readDicomMeta(bytes, 'image.dcm'); // { modality: 'CR', viewPosition: 'PA', rows: 1024, ... }
 */
export function readDicomMeta(
  bytes: Uint8Array,
  file = '(dicom)',
  options: { maxInflatedBytes?: number } = {},
): DicomMeta {
  return metaFromDataSet(
    parseDicomBytes(bytes, file, 'x7fe00010', options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES),
    file,
  );
}
