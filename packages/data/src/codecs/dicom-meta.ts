import type { DataSet } from 'dicom-parser';
import { parseDicomBytes } from './dicom-parser';

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
  lossyImageCompression?: boolean;
}

/** Implicit VR little endian: the default when a file has no meta header. */
const IMPLICIT_LE = '1.2.840.10008.1.2';

function str(ds: DataSet, tag: string): string | undefined {
  const v = ds.string(tag);
  return v === undefined || v === '' ? undefined : v;
}

function num(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (el === undefined || el.length === 0) return undefined;
  // US in explicit VR; in implicit VR dicom-parser has no VR, and these tags are all US by the standard.
  return ds.uint16(tag);
}

function ds1(ds: DataSet, tag: string, index = 0): number | undefined {
  const v = ds.floatString(tag, index);
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

/** Extracts the allow-listed attributes from a parsed data set. */
export function metaFromDataSet(ds: DataSet): DicomMeta {
  const rows = num(ds, 'x00280010') ?? 0;
  const columns = num(ds, 'x00280011') ?? 0;
  const bitsAllocated = num(ds, 'x00280100') ?? 8;
  const bitsStored = num(ds, 'x00280101') ?? bitsAllocated;
  const meta: DicomMeta = {
    transferSyntaxUid: str(ds, 'x00020010') ?? IMPLICIT_LE,
    rows,
    columns,
    samplesPerPixel: num(ds, 'x00280002') ?? 1,
    planarConfiguration: num(ds, 'x00280006') ?? 0,
    photometricInterpretation: str(ds, 'x00280004') ?? 'MONOCHROME2',
    bitsAllocated,
    bitsStored,
    highBit: num(ds, 'x00280102') ?? bitsStored - 1,
    pixelRepresentation: num(ds, 'x00280103') ?? 0,
    numberOfFrames: ds.intString('x00280008') ?? 1,
    rescaleSlope: ds1(ds, 'x00281053') ?? 1,
    rescaleIntercept: ds1(ds, 'x00281052') ?? 0,
  };
  const optional: [keyof DicomMeta, string | undefined][] = [
    ['sopClassUid', str(ds, 'x00080016')],
    ['modality', str(ds, 'x00080060')],
    ['bodyPartExamined', str(ds, 'x00180015')],
    ['viewPosition', str(ds, 'x00185101')],
    ['conversionType', str(ds, 'x00080064')],
    ['voiLutFunction', str(ds, 'x00281056')],
  ];
  for (const [k, v] of optional) if (v !== undefined) (meta as unknown as Record<string, unknown>)[k] = v;
  const sy = ds1(ds, 'x00280030', 0);
  const sx = ds1(ds, 'x00280030', 1);
  if (sy !== undefined) meta.pixelSpacing = [sy, sx ?? sy];
  const wc = ds1(ds, 'x00281050');
  const ww = ds1(ds, 'x00281051');
  if (wc !== undefined && ww !== undefined) {
    meta.windowCenter = wc;
    meta.windowWidth = ww;
  }
  const lossy = str(ds, 'x00282110');
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
export function readDicomMeta(bytes: Uint8Array, file = '(dicom)'): DicomMeta {
  return metaFromDataSet(parseDicomBytes(bytes, file, 'x7fe00010'));
}
