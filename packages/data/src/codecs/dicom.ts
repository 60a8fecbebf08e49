import { DataError } from '@multichexnet/core';
import jpeg from 'jpeg-js';
import type { DataSet, Element } from 'dicom-parser';
import type { DecodedImage } from './decoded-image';
import { dicomParser, parseDicomBytes } from './dicom-parser';
import { decimalValue, metaFromDataSet, type DicomMeta } from './dicom-meta';
import { MAX_RADIOGRAPH_PIXELS } from './assert-radiograph';
import { assertDeclaredSize, jpegDeclaredSize } from './header-size';

/** Transfer syntaxes this decoder reads, by UID. */
export const SUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = Object.freeze({
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
});

/** Options of {@link decodeDicom}. */
export interface DicomDecodeOptions {
  /** Apply the file's VOI window (0028,1050/1051) when present (default true). */
  voi?: boolean;
}

/**
 * DICOM bytes → gray image [Rows, Columns], row-major, values in [0, maxValue], 0 = black.
 *
 * Follows the DICOM display chain (PS3.3 C.11): pixel data (native little endian, or JPEG Baseline
 * fragments), mask to BitsStored and sign-extend, modality LUT (RescaleSlope/Intercept), VOI window
 * (LINEAR, LINEAR_EXACT or SIGMOID) when present, and MONOCHROME1 inversion. Without a window the output is
 * the full stored range shifted to start at 0; with one it spans [0, 255] (BitsStored ≤ 8) or [0, 65535].
 * Multi-frame files (cine, tomosynthesis) are refused: a radiograph is one frame. Unsupported transfer syntaxes
 * throw a {@link DataError} naming the file and the UID.
 *
 * @example
 * const img = decodeDicom(bytes, 'stage_2_train_images/0004cfab.dcm'); // { width: 1024, height: 1024, maxValue: 255, ... }
 */
export function decodeDicom(bytes: Uint8Array, file = '(dicom)', options: DicomDecodeOptions = {}): DecodedImage {
  return decodeDicomWithMeta(bytes, file, options).image;
}

/** {@link decodeDicom} plus the file's non-identifying attributes, from one parse. */
export function decodeDicomWithMeta(bytes: Uint8Array, file = '(dicom)', options: DicomDecodeOptions = {}): { image: DecodedImage; meta: DicomMeta } {
  const p = prepareDicom(bytes, file);
  const stored = p.jpegFrame === null ? (p.native as Int32Array | Uint8Array) : decodeJpegFrameJs(p.jpegFrame, p.meta, file);
  return { image: finishDicom(p, stored, options, file), meta: p.meta };
}

/** Decodes a JPEG Baseline frame to 8-bit samples [Rows x Columns] (gray, or luminance of colour). */
export type JpegFrameDecoder = (frame: Uint8Array, meta: DicomMeta, file: string) => Promise<Uint8Array>;

/**
 * {@link decodeDicomWithMeta} with a custom (asynchronous) JPEG Baseline frame decoder, e.g. libjpeg-turbo
 * through sharp off the main thread; everything else (tags, bits, LUTs, inversion) is the same code.
 */
export async function decodeDicomAsync(bytes: Uint8Array, file: string, options: DicomDecodeOptions, jpeg: JpegFrameDecoder): Promise<{ image: DecodedImage; meta: DicomMeta }> {
  const p = prepareDicom(bytes, file);
  let stored: Int32Array | Uint8Array;
  try {
    stored = p.jpegFrame === null ? (p.native as Int32Array | Uint8Array) : await jpeg(p.jpegFrame, p.meta, file);
  } catch (err) {
    // a custom decoder's library error (e.g. libjpeg's "Bogus Huffman table") is still bad data in this file
    if (err instanceof DataError) throw err;
    throw new DataError('DICOM JPEG fragment cannot be decoded', { file, field: '(7FE0,0010) PixelData', expected: 'an 8-bit baseline JPEG', found: String(err instanceof Error ? err.message : err).split('\n')[0] }, { cause: err });
  }
  if (p.jpegFrame !== null && stored.length !== p.meta.rows * p.meta.columns) {
    throw new DataError('DICOM JPEG size disagrees with Rows/Columns', { file, field: '(0028,0010) Rows', expected: `${p.meta.columns * p.meta.rows} samples`, found: `${stored.length}` });
  }
  return { image: finishDicom(p, stored, options, file), meta: p.meta };
}

interface PreparedDicom {
  meta: DicomMeta;
  /** Native samples, or null for JPEG. */
  native: Int32Array | Uint8Array | null;
  /** The JPEG Baseline frame, or null for native. */
  jpegFrame: Uint8Array | null;
}

function prepareDicom(bytes: Uint8Array, file: string): PreparedDicom {
  const ds = parseDicomBytes(bytes, file);
  const meta = metaFromDataSet(ds, file);
  // The modality LUT defines what every pixel value means: a value that is there but unreadable is not guessed.
  for (const [tag, field] of [['x00281053', '(0028,1053) RescaleSlope'], ['x00281052', '(0028,1052) RescaleIntercept']] as const) {
    const v = decimalValue(ds, tag, 0, file);
    if (v !== undefined && !Number.isFinite(v)) throw new DataError('DICOM rescale value is not a finite number', { file, field, expected: 'a decimal string', found: JSON.stringify(ds.string(tag)) });
  }
  if (meta.rescaleSlope === 0) throw new DataError('DICOM RescaleSlope is zero: every pixel would have the same value', { file, field: '(0028,1053) RescaleSlope', expected: 'a non-zero slope', found: '0' });
  if (meta.numberOfFrames > 1) {
    // A chest radiograph is one frame; several frames are a cine, a tomosynthesis or a CT series, not a film.
    throw new DataError('DICOM file holds several frames, not one radiograph', { file, field: '(0028,0008) NumberOfFrames', expected: '1', found: String(meta.numberOfFrames) });
  }
  const pixel = ds.elements.x7fe00010;
  if (pixel === undefined) {
    throw new DataError('DICOM file has no pixel data', { file, field: '(7FE0,0010) PixelData', expected: 'an image', found: 'no PixelData element' });
  }
  if (meta.rows <= 0 || meta.columns <= 0) {
    throw new DataError('DICOM image has no size', { file, field: '(0028,0010) Rows / (0028,0011) Columns', expected: '> 0', found: `${meta.rows} x ${meta.columns}` });
  }
  const ts = meta.transferSyntaxUid;
  if (ts === '1.2.840.10008.1.2' || ts === '1.2.840.10008.1.2.1') return { meta, native: readNativeFrame(ds, pixel, meta, file), jpegFrame: null };
  if (ts === '1.2.840.10008.1.2.4.50') {
    const jpegFrame = readJpegBaselineBytes(ds, pixel, meta, file);
    // the frame's own header, before a decoder allocates from it
    const declared = jpegDeclaredSize(jpegFrame);
    assertDeclaredSize(declared, file, 'DICOM JPEG');
    if (declared !== null && (declared.width !== meta.columns || declared.height !== meta.rows)) {
      throw new DataError('DICOM JPEG size disagrees with Rows/Columns', { file, field: '(0028,0010) Rows', expected: `${meta.columns}x${meta.rows}`, found: `${declared.width}x${declared.height}` });
    }
    return { meta, native: null, jpegFrame };
  }
  throw new DataError('DICOM transfer syntax is not supported', {
    file,
    field: '(0002,0010) TransferSyntaxUID',
    expected: Object.entries(SUPPORTED_TRANSFER_SYNTAXES).map(([uid, name]) => `${uid} (${name})`).join(', '),
    found: ts,
  });
}

function finishDicom(p: PreparedDicom, stored: Int32Array | Uint8Array, options: DicomDecodeOptions, file: string): DecodedImage {
  // JPEG Baseline is 8-bit unsigned by definition, whatever the header claims
  const jpegPath = p.jpegFrame !== null;
  const bitsStored = jpegPath ? 8 : p.meta.bitsStored;
  const signed = jpegPath ? false : p.meta.pixelRepresentation === 1;
  const highBit = stored instanceof Int32Array ? p.meta.highBit : bitsStored - 1;
  return applyDisplayChain(stored, p.meta, { bitsStored, signed, highBit }, options, file);
}

function readNativeFrame(ds: DataSet, pixel: Element, meta: DicomMeta, file: string): Int32Array | Uint8Array {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated } = meta;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new DataError('DICOM BitsAllocated is not supported', { file, field: '(0028,0100) BitsAllocated', expected: '8 or 16', found: String(bitsAllocated) });
  }
  const n = rows * columns;
  const bytesPer = bitsAllocated / 8;
  const frameBytes = n * spp * bytesPer;
  if (pixel.length < frameBytes) {
    throw new DataError('DICOM pixel data is shorter than one frame', { file, field: '(7FE0,0010) PixelData', expected: `>= ${frameBytes} bytes`, found: `${pixel.length} bytes` });
  }
  const buf = ds.byteArray;
  if (bitsAllocated === 8 && spp === 1 && meta.bitsStored === 8 && meta.pixelRepresentation === 0) {
    return buf.slice(pixel.dataOffset, pixel.dataOffset + n);
  }
  const view = new DataView(buf.buffer, buf.byteOffset + pixel.dataOffset, frameBytes);
  const read = bitsAllocated === 8 ? (o: number) => view.getUint8(o) : (o: number) => view.getUint16(o, true);
  if (spp === 1) {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = read(i * bytesPer);
    return out;
  }
  if (spp !== 3) {
    throw new DataError('DICOM SamplesPerPixel is not supported', { file, field: '(0028,0002) SamplesPerPixel', expected: '1 or 3', found: String(spp) });
  }
  // colour (rare in chest X-ray): luminance of the stored samples, interleaved or planar
  const out = new Int32Array(n);
  const planar = meta.planarConfiguration === 1;
  for (let i = 0; i < n; i++) {
    const [r, g, b] = planar
      ? [read(i * bytesPer), read((n + i) * bytesPer), read((2 * n + i) * bytesPer)]
      : [read(3 * i * bytesPer), read((3 * i + 1) * bytesPer), read((3 * i + 2) * bytesPer)];
    out[i] = Math.floor((299 * r + 587 * g + 114 * b + 500) / 1000);
  }
  return out;
}

function readJpegBaselineBytes(ds: DataSet, pixel: Element, meta: DicomMeta, file: string): Uint8Array {
  const fragments = pixel.fragments ?? [];
  if (!pixel.encapsulatedPixelData || fragments.length === 0) {
    throw new DataError('DICOM JPEG pixel data is not encapsulated', { file, field: '(7FE0,0010) PixelData', expected: 'encapsulated fragments', found: 'native pixel data' });
  }
  let frameBytes: Uint8Array;
  try {
    if (meta.numberOfFrames <= 1) {
      frameBytes = dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, fragments.length) as Uint8Array;
    } else {
      const bot = pixel.basicOffsetTable !== undefined && pixel.basicOffsetTable.length > 0
        ? pixel.basicOffsetTable
        : dicomParser.createJPEGBasicOffsetTable(ds, pixel);
      frameBytes = dicomParser.readEncapsulatedImageFrame(ds, pixel, 0, bot) as Uint8Array;
    }
  } catch (err) {
    throw new DataError('DICOM encapsulated pixel data cannot be read', { file, field: '(7FE0,0010) PixelData', expected: 'JPEG fragments', found: String(err) }, { cause: err });
  }
  return frameBytes;
}

function decodeJpegFrameJs(frameBytes: Uint8Array, meta: DicomMeta, file: string): Uint8Array {
  let raw: { width: number; height: number; data: Uint8Array };
  try {
    raw = jpeg.decode(frameBytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024, maxResolutionInMP: MAX_RADIOGRAPH_PIXELS / 1e6 });
  } catch (err) {
    throw new DataError('DICOM JPEG fragment cannot be decoded', { file, field: '(7FE0,0010) PixelData', expected: 'an 8-bit baseline JPEG', found: String(err instanceof Error ? err.message : err) }, { cause: err });
  }
  if (raw.width !== meta.columns || raw.height !== meta.rows) {
    throw new DataError('DICOM JPEG size disagrees with Rows/Columns', { file, field: '(0028,0010) Rows', expected: `${meta.columns}x${meta.rows}`, found: `${raw.width}x${raw.height}` });
  }
  const n = raw.width * raw.height;
  const ch = raw.data.length / n;
  const out = new Uint8Array(n);
  const src = raw.data;
  if (meta.samplesPerPixel === 1) {
    // jpeg-js replicates the single component into R, G and B
    for (let i = 0; i < n; i++) out[i] = src[i * ch] as number;
  } else {
    for (let i = 0; i < n; i++) {
      const o = i * ch;
      out[i] = Math.floor((299 * (src[o] as number) + 587 * (src[o + 1] as number) + 114 * (src[o + 2] as number) + 500) / 1000);
    }
  }
  return out;
}

interface StoredLayout {
  bitsStored: number;
  signed: boolean;
  highBit: number;
}

function applyDisplayChain(
  stored: Int32Array | Uint8Array | Uint16Array,
  meta: DicomMeta,
  layout: StoredLayout,
  options: DicomDecodeOptions,
  file: string,
): DecodedImage {
  const width = meta.columns;
  const height = meta.rows;
  const n = width * height;
  const { bitsStored, signed, highBit } = layout;
  const photometric = meta.photometricInterpretation;
  const mono1 = photometric === 'MONOCHROME1';
  const slope = meta.rescaleSlope;
  const intercept = meta.rescaleIntercept;
  const useVoi = options.voi !== false && meta.windowCenter !== undefined && meta.windowWidth !== undefined;

  // The common case of RSNA and SIIM: 8-bit unsigned, identity LUTs. Stay in Uint8.
  if (stored instanceof Uint8Array && !useVoi && slope === 1 && intercept === 0) {
    if (mono1) for (let i = 0; i < n; i++) stored[i] = 255 - (stored[i] as number);
    return { width, height, data: stored, maxValue: 255 };
  }

  const shift = highBit + 1 - bitsStored;
  const valueMask = bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  const lowStored = signed ? -signBit : 0;
  const highStored = signed ? signBit - 1 : valueMask;
  const ends = [slope * lowStored + intercept, slope * highStored + intercept];
  const lo = Math.min(ends[0] as number, ends[1] as number);
  const hi = Math.max(ends[0] as number, ends[1] as number);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = ((stored[i] as number) >>> shift) & valueMask;
    if (signed && v >= signBit) v -= 2 * signBit;
    data[i] = slope * v + intercept;
  }
  let maxValue: number;
  if (useVoi) {
    maxValue = bitsStored <= 8 ? 255 : 65535;
    applyVoiWindow(data, meta.windowCenter as number, meta.windowWidth as number, meta.voiLutFunction ?? 'LINEAR', maxValue, file);
  } else {
    maxValue = hi - lo;
    for (let i = 0; i < n; i++) data[i] = (data[i] as number) - lo;
  }
  if (!(maxValue > 0 && maxValue <= 3.4e38)) {
    // e.g. BitsStored 0, or a rescale so large that the range overflows: no image can be shown from it
    throw new DataError('DICOM pixel range is empty or not finite', { file, field: '(0028,0101) BitsStored / (0028,1053) RescaleSlope', expected: 'a finite range > 0', found: `${bitsStored} bits, slope ${slope}, range ${maxValue}` });
  }
  if (mono1) for (let i = 0; i < n; i++) data[i] = maxValue - (data[i] as number);
  return { width, height, data, maxValue };
}

/** VOI LUT functions of PS3.3 C.11.2.1.2 / C.11.2.1.3, output range [0, ymax], in place. */
function applyVoiWindow(data: Float32Array, c: number, w: number, fn: string, ymax: number, file: string): void {
  const n = data.length;
  if (fn === 'LINEAR') {
    if (!(w >= 1)) throw new DataError('DICOM WindowWidth is invalid for a LINEAR window', { file, field: '(0028,1051) WindowWidth', expected: '>= 1', found: String(w) });
    const lower = c - 0.5 - (w - 1) / 2;
    const upper = c - 0.5 + (w - 1) / 2;
    for (let i = 0; i < n; i++) {
      const x = data[i] as number;
      data[i] = x <= lower ? 0 : x > upper ? ymax : ((x - (c - 0.5)) / (w - 1) + 0.5) * ymax;
    }
  } else if (fn === 'LINEAR_EXACT') {
    if (!(w > 0)) throw new DataError('DICOM WindowWidth is invalid for a LINEAR_EXACT window', { file, field: '(0028,1051) WindowWidth', expected: '> 0', found: String(w) });
    for (let i = 0; i < n; i++) {
      const x = data[i] as number;
      data[i] = x <= c - w / 2 ? 0 : x > c + w / 2 ? ymax : ((x - c) / w + 0.5) * ymax;
    }
  } else if (fn === 'SIGMOID') {
    if (!(w > 0)) throw new DataError('DICOM WindowWidth is invalid for a SIGMOID window', { file, field: '(0028,1051) WindowWidth', expected: '> 0', found: String(w) });
    for (let i = 0; i < n; i++) data[i] = ymax / (1 + Math.exp((-4 * ((data[i] as number) - c)) / w));
  } else {
    throw new DataError('DICOM VOI LUT function is not supported', { file, field: '(0028,1056) VOILUTFunction', expected: 'LINEAR, LINEAR_EXACT or SIGMOID', found: fn });
  }
}
