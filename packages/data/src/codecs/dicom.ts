import { DataError } from '@multichexnet/core/base';
import type { DataSet, Element } from 'dicom-parser';
import type { DecodedImage } from './decoded-image';
import { dicomParser, parseDicomBytes } from './dicom-parser';
import { decimalValue, metaFromDataSet, type DicomMeta } from './dicom-meta';
import { decodeJpegPixels, type JpegPixels } from './jpeg';
import { assertDeclaredSize, j2kDeclaredSize, jpegDeclaredSize } from './header-size';
import { DEFAULT_MAX_INFLATED_BYTES } from './dicom-inflate';
import { decodeRleFrame } from './dicom-rle';
import {
  dropFrameCodec,
  loadFrameCodec,
  type CodecFrame,
  type DicomCodecWasmUrls,
  type FrameCodec,
  type LazyPixelEncoding,
} from './dicom-frame-codecs';

/** How the pixel data of a transfer syntax is stored, i.e. which decoder reads it. */
type PixelEncoding = 'native' | 'jpeg-baseline' | 'rle' | LazyPixelEncoding;

interface SyntaxInfo {
  name: string;
  encoding: PixelEncoding;
  bigEndian?: true;
}

const SYNTAXES: Readonly<Record<string, SyntaxInfo>> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', encoding: 'native' },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', encoding: 'native' },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', encoding: 'native' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', encoding: 'native', bigEndian: true },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', encoding: 'jpeg-baseline' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless (Process 14)', encoding: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless (Process 14, Selection Value 1)', encoding: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', encoding: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', encoding: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 (Lossless Only)', encoding: 'jpeg-2000' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', encoding: 'jpeg-2000' },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', encoding: 'rle' },
};

/** Transfer syntaxes this decoder reads, by UID. */
export const SUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(SYNTAXES).map(([uid, s]) => [uid, s.name])),
);

/** What each encoding's fragments are called in errors. */
const FRAGMENT_NAMES: Record<Exclude<PixelEncoding, 'native'>, string> = {
  'jpeg-baseline': 'JPEG',
  'jpeg-lossless': 'JPEG Lossless',
  'jpeg-ls': 'JPEG-LS',
  'jpeg-2000': 'JPEG 2000',
  rle: 'RLE',
};

/** Options of {@link decodeDicom}. */
export interface DicomDecodeOptions {
  /**
   * Apply the file's VOI transform (default true): the first item of its VOI LUT Sequence (0028,3010) when present,
   * else its first window (0028,1050/1051).
   */
  voi?: boolean;
  /** Apply this window instead (0-based index into the Window Center / Width values), even over a VOI LUT Sequence. */
  voiWindow?: number;
  /** Largest size a deflated data set may expand to, bytes (default {@link DEFAULT_MAX_INFLATED_BYTES}). */
  maxInflatedBytes?: number;
  /** Browser: where the JPEG-LS / JPEG 2000 codecs' WebAssembly is fetched from (see {@link DicomCodecWasmUrls}). */
  codecWasmUrls?: DicomCodecWasmUrls;
}

/**
 * DICOM bytes → gray image [Rows, Columns], row-major, values in [0, maxValue], 0 = black.
 *
 * Follows the DICOM display chain (PS3.3 C.11): pixel data (native little or big endian, deflated, or the JPEG
 * Baseline and RLE fragments), mask to BitsStored and sign-extend, modality LUT (RescaleSlope/Intercept), VOI
 * transform (a VOI LUT, or a LINEAR, LINEAR_EXACT or SIGMOID window) when present, and one inversion for MONOCHROME1
 * or Presentation LUT Shape INVERSE. Without a VOI transform the output is the full stored range shifted to start at
 * 0; with a window it spans [0, 255] (BitsStored ≤ 8) or [0, 65535] in whole levels; with a VOI LUT, [0, 2^bits - 1]
 * of the LUT. Whole levels come as Uint8Array (up to 255) or Uint16Array, fractional ones (a fractional rescale) as
 * Float32Array.
 * Multi-frame files (cine, tomosynthesis) are refused: a radiograph is one frame. JPEG Lossless, JPEG-LS and JPEG 2000
 * need their codec loaded first: use {@link decodeDicomAsync}, which reads every syntax in
 * {@link SUPPORTED_TRANSFER_SYNTAXES}; here they throw a {@link DataError} saying so. Other syntaxes throw a
 * {@link DataError} naming the file and the UID.
 *
 * @example
 * const img = decodeDicom(bytes, 'stage_2_train_images/0004cfab.dcm'); // { width: 1024, height: 1024, maxValue: 255, ... }
 */
export function decodeDicom(bytes: Uint8Array, file = '(dicom)', options: DicomDecodeOptions = {}): DecodedImage {
  return decodeDicomWithMeta(bytes, file, options).image;
}

/** {@link decodeDicom} plus the file's non-identifying attributes, from one parse. */
export function decodeDicomWithMeta(
  bytes: Uint8Array,
  file = '(dicom)',
  options: DicomDecodeOptions = {},
): { image: DecodedImage; meta: DicomMeta } {
  const p = prepareDicom(bytes, file, options);
  return { image: finishDicom(p, storedWithoutCodec(p, file), file), meta: p.meta };
}

/** Decodes a JPEG Baseline frame to 8-bit samples [Rows x Columns] (gray, or luminance of colour). */
export type JpegFrameDecoder = (frame: Uint8Array, meta: DicomMeta, file: string) => Promise<Uint8Array>;

/**
 * DICOM bytes → gray image [Rows, Columns] and the file's non-identifying attributes, for every transfer syntax of
 * {@link SUPPORTED_TRANSFER_SYNTAXES}: {@link decodeDicomWithMeta}, plus JPEG Lossless, JPEG-LS and JPEG 2000, whose
 * codecs are imported on first use. `jpeg` replaces the JPEG Baseline decoder (e.g. libjpeg-turbo through sharp, off
 * the main thread); everything else (tags, bits, LUTs, inversion) is the same code.
 *
 * @example
 * const { image, meta } = await decodeDicomAsync(bytes, 'cr-jpeg-ls.dcm'); // meta.transferSyntaxUid '1.2.840.10008.1.2.4.80'
 */
export async function decodeDicomAsync(
  bytes: Uint8Array,
  file = '(dicom)',
  options: DicomDecodeOptions = {},
  jpeg?: JpegFrameDecoder,
): Promise<{ image: DecodedImage; meta: DicomMeta }> {
  const p = prepareDicom(bytes, file, options);
  let stored: StoredSamples;
  if (p.encoding === 'jpeg-baseline' && jpeg !== undefined) {
    try {
      stored = await jpeg(p.frame as Uint8Array, p.meta, file);
    } catch (err) {
      // a custom decoder's library error (e.g. libjpeg's "Bogus Huffman table") is still bad data in this file
      if (err instanceof DataError) throw err;
      throw fragmentError(p, file, err);
    }
    if (stored.length !== p.meta.rows * p.meta.columns) {
      throw new DataError('DICOM JPEG size disagrees with Rows/Columns', {
        file,
        field: '(0028,0010) Rows',
        expected: `${p.meta.columns * p.meta.rows} samples`,
        found: `${stored.length}`,
      });
    }
  } else if (p.encoding === 'jpeg-lossless' || p.encoding === 'jpeg-ls' || p.encoding === 'jpeg-2000') {
    const encoding = p.encoding;
    let codec: FrameCodec;
    try {
      codec = await loadFrameCodec(encoding, options.codecWasmUrls);
    } catch (err) {
      throw new DataError(
        `DICOM ${FRAGMENT_NAMES[encoding]} codec cannot be loaded`,
        {
          file,
          field: '(0002,0010) TransferSyntaxUID',
          expected: `its decoder for ${p.syntax.name}`,
          found: firstLine(err),
        },
        { cause: err },
      );
    }
    let frame: CodecFrame;
    try {
      frame = codec(p.frame as Uint8Array);
    } catch (err) {
      // a WebAssembly module that aborted refuses every later call: the next file gets a fresh one
      dropFrameCodec(encoding);
      throw fragmentError(p, file, err);
    }
    stored = storedFromFrame(frame, p, file);
  } else {
    stored = storedWithoutCodec(p, file);
  }
  return { image: finishDicom(p, stored, file), meta: p.meta };
}

/** Stored samples before the display chain (see {@link readNativeFrame}). */
type StoredSamples = Int32Array | Uint16Array | Uint8Array;

/** A VOI transform chosen from the file and the options (PS3.3 C.11.2). */
type VoiTransform =
  | { kind: 'window'; center: number; width: number; fn: string }
  | { kind: 'lut'; firstMapped: number; bits: number; table: Uint16Array };

interface PreparedDicom {
  meta: DicomMeta;
  syntax: SyntaxInfo;
  encoding: PixelEncoding;
  /** Native samples, or null for encapsulated data. */
  native: StoredSamples | null;
  /** The encapsulated frame, or null for native data. */
  frame: Uint8Array | null;
  voi: VoiTransform | null;
}

function prepareDicom(bytes: Uint8Array, file: string, options: DicomDecodeOptions): PreparedDicom {
  const ds = parseDicomBytes(bytes, file, undefined, options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES);
  const meta = metaFromDataSet(ds, file);
  // The modality LUT defines what every pixel value means: a value that is there but unreadable is not guessed.
  for (const [tag, field] of [
    ['x00281053', '(0028,1053) RescaleSlope'],
    ['x00281052', '(0028,1052) RescaleIntercept'],
  ] as const) {
    const v = decimalValue(ds, tag, 0, file);
    if (v !== undefined && !Number.isFinite(v))
      throw new DataError('DICOM rescale value is not a finite number', {
        file,
        field,
        expected: 'a decimal string',
        found: JSON.stringify(ds.string(tag)),
      });
  }
  if (meta.rescaleSlope === 0)
    throw new DataError('DICOM RescaleSlope is zero: every pixel would have the same value', {
      file,
      field: '(0028,1053) RescaleSlope',
      expected: 'a non-zero slope',
      found: '0',
    });
  if (meta.numberOfFrames > 1) {
    // A chest radiograph is one frame; several frames are a cine, a tomosynthesis or a CT series, not a film.
    throw new DataError('DICOM file holds several frames, not one radiograph', {
      file,
      field: '(0028,0008) NumberOfFrames',
      expected: '1',
      found: String(meta.numberOfFrames),
    });
  }
  const pixel = ds.elements.x7fe00010;
  if (pixel === undefined) {
    throw new DataError('DICOM file has no pixel data', {
      file,
      field: '(7FE0,0010) PixelData',
      expected: 'an image',
      found: 'no PixelData element',
    });
  }
  if (meta.rows <= 0 || meta.columns <= 0) {
    throw new DataError('DICOM image has no size', {
      file,
      field: '(0028,0010) Rows / (0028,0011) Columns',
      expected: '> 0',
      found: `${meta.rows} x ${meta.columns}`,
    });
  }
  const syntax = SYNTAXES[meta.transferSyntaxUid];
  if (syntax === undefined) {
    throw new DataError('DICOM transfer syntax is not supported', {
      file,
      field: '(0002,0010) TransferSyntaxUID',
      expected: Object.entries(SUPPORTED_TRANSFER_SYNTAXES)
        .map(([uid, name]) => `${uid} (${name})`)
        .join(', '),
      found: meta.transferSyntaxUid,
    });
  }
  const voi = chooseVoi(ds, meta, options, file);
  const base = { meta, syntax, encoding: syntax.encoding, voi };
  if (syntax.encoding === 'native')
    return { ...base, native: readNativeFrame(ds, pixel, meta, file, syntax.bigEndian === true), frame: null };
  const frame = readEncapsulatedFrame(ds, pixel, meta, file);
  // the frame's own header, before a decoder allocates from it
  const declared =
    syntax.encoding === 'jpeg-2000'
      ? j2kDeclaredSize(frame)
      : syntax.encoding === 'rle'
        ? null
        : jpegDeclaredSize(frame);
  const what = `DICOM ${FRAGMENT_NAMES[syntax.encoding]}`;
  assertDeclaredSize(declared, file, what);
  if (declared !== null && (declared.width !== meta.columns || declared.height !== meta.rows)) {
    throw new DataError(`${what} size disagrees with Rows/Columns`, {
      file,
      field: '(0028,0010) Rows',
      expected: `${meta.columns}x${meta.rows}`,
      found: `${declared.width}x${declared.height}`,
    });
  }
  if (syntax.encoding !== 'jpeg-baseline' && meta.bitsAllocated !== 8 && meta.bitsAllocated !== 16) {
    throw new DataError('DICOM BitsAllocated is not supported', {
      file,
      field: '(0028,0100) BitsAllocated',
      expected: '8 or 16',
      found: String(meta.bitsAllocated),
    });
  }
  return { ...base, native: null, frame };
}

/** The stored samples of the encodings decoded without a lazily loaded codec. */
function storedWithoutCodec(p: PreparedDicom, file: string): StoredSamples {
  switch (p.encoding) {
    case 'native':
      return p.native as StoredSamples;
    case 'jpeg-baseline':
      return decodeJpegFrameJs(p.frame as Uint8Array, p, file);
    case 'rle': {
      let frame: CodecFrame;
      try {
        frame = decodeRleFrame(
          p.frame as Uint8Array,
          p.meta.columns,
          p.meta.rows,
          p.meta.bitsAllocated as 8 | 16,
          p.meta.samplesPerPixel,
        );
      } catch (err) {
        throw fragmentError(p, file, err);
      }
      return storedFromFrame(frame, p, file);
    }
    default:
      throw new DataError(
        'DICOM transfer syntax needs its codec: decode it with decodeDicomAsync or decodeImageAsync',
        {
          file,
          field: '(0002,0010) TransferSyntaxUID',
          expected: 'a syntax decoded without a codec (native, JPEG Baseline, RLE)',
          found: `${p.meta.transferSyntaxUid} (${p.syntax.name})`,
        },
      );
  }
}

/** The one-line error of a fragment its decoder rejects. */
/** The error for a SamplesPerPixel other than 1 (gray) or 3 (colour). */
function unsupportedSamplesPerPixel(spp: number, file: string): DataError {
  return new DataError('DICOM SamplesPerPixel is not supported', {
    file,
    field: '(0028,0002) SamplesPerPixel',
    expected: '1 or 3',
    found: String(spp),
  });
}

function fragmentError(p: PreparedDicom, file: string, err: unknown): DataError {
  const name = FRAGMENT_NAMES[p.encoding as Exclude<PixelEncoding, 'native'>];
  const expected =
    p.encoding === 'jpeg-baseline' ? 'an 8-bit baseline JPEG' : `a ${name} frame of ${p.meta.columns}x${p.meta.rows}`;
  return new DataError(
    `DICOM ${name} fragment cannot be decoded`,
    { file, field: '(7FE0,0010) PixelData', expected, found: firstLine(err) },
    { cause: err },
  );
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0] as string;
}

/**
 * A codec's frame → stored samples in the same form {@link readNativeFrame} gives for the uncompressed file, so a
 * lossless file and its uncompressed original go through the display chain identically.
 */
function storedFromFrame(f: CodecFrame, p: PreparedDicom, file: string): StoredSamples {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated, bitsStored, pixelRepresentation } = p.meta;
  const what = `DICOM ${FRAGMENT_NAMES[p.encoding as Exclude<PixelEncoding, 'native'>]}`;
  if (f.width !== columns || f.height !== rows) {
    throw new DataError(`${what} size disagrees with Rows/Columns`, {
      file,
      field: '(0028,0010) Rows',
      expected: `${columns}x${rows}`,
      found: `${f.width}x${f.height}`,
    });
  }
  const n = rows * columns;
  if (f.components !== spp || f.samples.length < n * spp) {
    throw new DataError(`${what} components disagree with SamplesPerPixel`, {
      file,
      field: '(0028,0002) SamplesPerPixel',
      expected: `${spp} component(s) of ${n} samples`,
      found: `${f.components} component(s), ${f.samples.length} samples`,
    });
  }
  const s = f.samples;
  if (spp === 1) {
    if (s instanceof Uint8Array && bitsAllocated === 8 && bitsStored === 8 && pixelRepresentation === 0)
      return s.length === n ? s : s.slice(0, n);
    if (bitsAllocated === 16 && pixelRepresentation === 0)
      return s instanceof Uint16Array && s.length === n ? s : Uint16Array.from(s.subarray(0, n));
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = s[i] as number;
    return out;
  }
  if (spp !== 3) throw unsupportedSamplesPerPixel(spp, file);
  return luminance(n, f.planar ? (i, c) => s[c * n + i] as number : (i, c) => s[3 * i + c] as number);
}

/** Rec. 601 luminance of n colour samples, the rule of every decoder in this package. */
function luminance(n: number, sample: (i: number, c: number) => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = Math.floor((299 * sample(i, 0) + 587 * sample(i, 1) + 114 * sample(i, 2) + 500) / 1000);
  return out;
}

function finishDicom(p: PreparedDicom, stored: StoredSamples, file: string): DecodedImage {
  // JPEG Baseline is 8-bit unsigned by definition, whatever the header claims; codecs return samples in the low bits
  if (p.encoding === 'jpeg-baseline')
    return applyDisplayChain(stored, p, { bitsStored: 8, signed: false, highBit: 7 }, file);
  const bitsStored = p.meta.bitsStored;
  const highBit = p.encoding === 'native' && !(stored instanceof Uint8Array) ? p.meta.highBit : bitsStored - 1;
  return applyDisplayChain(stored, p, { bitsStored, signed: p.meta.pixelRepresentation === 1, highBit }, file);
}

/**
 * The VOI transform to apply: `voiWindow` when asked for; else the first VOI LUT Sequence item; else the first
 * window; else none. (PS3.3 leaves the choice between a LUT and a window to the application; the LUT is the
 * manufacturer's exact curve, the window often its linear approximation, so it comes first, as in pydicom.)
 */
function chooseVoi(ds: DataSet, meta: DicomMeta, options: DicomDecodeOptions, file: string): VoiTransform | null {
  if (options.voi === false) return null;
  const fn = meta.voiLutFunction ?? 'LINEAR';
  if (options.voiWindow !== undefined) {
    const k = options.voiWindow;
    const count = ds.elements.x00281050 === undefined ? 0 : (ds.string('x00281050') ?? '').split('\\').length;
    const center = Number.isInteger(k) && k >= 0 ? decimalValue(ds, 'x00281050', k, file) : undefined;
    const width = Number.isInteger(k) && k >= 0 ? decimalValue(ds, 'x00281051', k, file) : undefined;
    if (center === undefined || width === undefined || !Number.isFinite(center) || !Number.isFinite(width)) {
      throw new DataError('DICOM file has no such VOI window', {
        file,
        field: '(0028,1050) WindowCenter / (0028,1051) WindowWidth',
        expected: `voiWindow an index below ${count}`,
        found: String(k),
      });
    }
    return { kind: 'window', center, width, fn };
  }
  const item = ds.elements.x00283010?.items?.[0]?.dataSet;
  if (item !== undefined) return readVoiLut(item, meta, file);
  if (meta.windowCenter !== undefined && meta.windowWidth !== undefined)
    return { kind: 'window', center: meta.windowCenter, width: meta.windowWidth, fn };
  return null;
}

/** One VOI LUT Sequence item: LUT Descriptor (entries, first mapped value, bits) and LUT Data (PS3.3 C.11.2.1.1). */
function readVoiLut(item: DataSet, meta: DicomMeta, file: string): VoiTransform {
  const field = '(0028,3010) VOILUTSequence';
  const desc = item.elements.x00283002;
  const data = item.elements.x00283006;
  if (desc === undefined || desc.length < 6 || data === undefined) {
    throw new DataError('DICOM VOI LUT item is incomplete', {
      file,
      field,
      expected: 'LUT Descriptor (0028,3002) and LUT Data (0028,3006)',
      found: desc === undefined ? 'no descriptor' : data === undefined ? 'no data' : `${desc.length}-byte descriptor`,
    });
  }
  const entries = item.uint16('x00283002', 0) || 65536;
  // the first mapped value is signed when the descriptor says SS, or (implicit VR) when the pixels are signed
  const rawFirst = item.uint16('x00283002', 1) as number;
  const signedFirst = desc.vr === 'SS' || (desc.vr === undefined && meta.pixelRepresentation === 1);
  const firstMapped = signedFirst && rawFirst >= 0x8000 ? rawFirst - 0x10000 : rawFirst;
  const bits = item.uint16('x00283002', 2) as number;
  if (!(bits >= 1 && bits <= 16))
    throw new DataError('DICOM VOI LUT entry size is not supported', {
      file,
      field: '(0028,3002) LUTDescriptor',
      expected: '1 to 16 bits per entry',
      found: String(bits),
    });
  const table = new Uint16Array(entries);
  if (data.length === entries && bits <= 8) {
    // 8-bit entries stored one per byte
    for (let i = 0; i < entries; i++) table[i] = item.byteArray[data.dataOffset + i] as number;
  } else if (data.length >= 2 * entries) {
    for (let i = 0; i < entries; i++) table[i] = item.uint16('x00283006', i) as number;
  } else {
    throw new DataError('DICOM VOI LUT data is shorter than its descriptor says', {
      file,
      field: '(0028,3006) LUTData',
      expected: `${entries} entries`,
      found: `${data.length} bytes`,
    });
  }
  return { kind: 'lut', firstMapped, bits, table };
}
/**
 * The stored samples of native pixel data: Uint8Array for 8-bit unsigned, Uint16Array for 16-bit unsigned
 * monochrome, Int32Array otherwise (signed, or the luminance of colour). {@link storedFromFrame} gives codecs' output
 * the same form, so both reach the display chain alike.
 */
function readNativeFrame(
  ds: DataSet,
  pixel: Element,
  meta: DicomMeta,
  file: string,
  bigEndian: boolean,
): StoredSamples {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated } = meta;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new DataError('DICOM BitsAllocated is not supported', {
      file,
      field: '(0028,0100) BitsAllocated',
      expected: '8 or 16',
      found: String(bitsAllocated),
    });
  }
  if (pixel.encapsulatedPixelData === true) {
    throw new DataError('DICOM pixel data is encapsulated in a native transfer syntax', {
      file,
      field: '(7FE0,0010) PixelData',
      expected: 'native pixel data',
      found: 'encapsulated fragments',
    });
  }
  const n = rows * columns;
  const bytesPer = bitsAllocated / 8;
  const frameBytes = n * spp * bytesPer;
  if (pixel.length < frameBytes) {
    throw new DataError('DICOM pixel data is shorter than one frame', {
      file,
      field: '(7FE0,0010) PixelData',
      expected: `>= ${frameBytes} bytes`,
      found: `${pixel.length} bytes`,
    });
  }
  const buf = ds.byteArray;
  // Big endian swaps OW data per 16-bit word, also when each word holds two 8-bit samples (PS3.5 7.3)
  const swappedBytes = bigEndian && bitsAllocated === 8 && pixel.vr === 'OW';
  if (bitsAllocated === 8 && spp === 1 && meta.bitsStored === 8 && meta.pixelRepresentation === 0) {
    const out = buf.slice(pixel.dataOffset, pixel.dataOffset + n + (n % 2));
    if (swappedBytes) {
      for (let i = 0; i + 1 < out.length; i += 2) {
        const t = out[i] as number;
        out[i] = out[i + 1] as number;
        out[i + 1] = t;
      }
    }
    return out.length === n ? out : out.subarray(0, n);
  }
  if (bitsAllocated === 16 && spp === 1 && meta.pixelRepresentation === 0) {
    // a byte copy viewed as 16-bit words (little-endian hosts, as every JavaScript engine in use); big endian swapped
    const out = new Uint16Array(buf.slice(pixel.dataOffset, pixel.dataOffset + 2 * n).buffer);
    if (bigEndian) for (let i = 0; i < n; i++) out[i] = (((out[i] as number) & 0xff) << 8) | ((out[i] as number) >> 8);
    return out;
  }
  const view = new DataView(buf.buffer, buf.byteOffset + pixel.dataOffset, frameBytes + (frameBytes % 2));
  const read =
    bitsAllocated === 16
      ? (o: number) => view.getUint16(o, !bigEndian)
      : swappedBytes
        ? (o: number) => view.getUint8(o ^ 1)
        : (o: number) => view.getUint8(o);
  if (spp === 1) {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = read(i * bytesPer);
    return out;
  }
  if (spp !== 3) throw unsupportedSamplesPerPixel(spp, file);
  // colour (rare in chest X-ray): luminance of the stored samples, interleaved or planar
  return meta.planarConfiguration === 1
    ? luminance(n, (i, c) => read((c * n + i) * bytesPer))
    : luminance(n, (i, c) => read((3 * i + c) * bytesPer));
}

/** The one frame of encapsulated pixel data, its fragments joined. */
function readEncapsulatedFrame(ds: DataSet, pixel: Element, meta: DicomMeta, file: string): Uint8Array {
  const fragments = pixel.fragments ?? [];
  if (!pixel.encapsulatedPixelData || fragments.length === 0) {
    throw new DataError('DICOM compressed pixel data is not encapsulated', {
      file,
      field: '(7FE0,0010) PixelData',
      expected: 'encapsulated fragments',
      found: 'native pixel data',
    });
  }
  try {
    if (meta.numberOfFrames <= 1)
      return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, fragments.length) as Uint8Array;
    const bot =
      pixel.basicOffsetTable !== undefined && pixel.basicOffsetTable.length > 0
        ? pixel.basicOffsetTable
        : dicomParser.createJPEGBasicOffsetTable(ds, pixel);
    return dicomParser.readEncapsulatedImageFrame(ds, pixel, 0, bot) as Uint8Array;
  } catch (err) {
    throw new DataError(
      'DICOM encapsulated pixel data cannot be read',
      { file, field: '(7FE0,0010) PixelData', expected: 'encapsulated fragments', found: String(err) },
      { cause: err },
    );
  }
}

function decodeJpegFrameJs(frameBytes: Uint8Array, p: PreparedDicom, file: string): Uint8Array {
  const meta = p.meta;
  let raw: JpegPixels;
  try {
    raw = decodeJpegPixels(frameBytes);
  } catch (err) {
    throw fragmentError(p, file, err);
  }
  if (raw.width !== meta.columns || raw.height !== meta.rows) {
    throw new DataError('DICOM JPEG size disagrees with Rows/Columns', {
      file,
      field: '(0028,0010) Rows',
      expected: `${meta.columns}x${meta.rows}`,
      found: `${raw.width}x${raw.height}`,
    });
  }
  const n = raw.width * raw.height;
  const ch = raw.data.length / n;
  const src = raw.data;
  if (meta.samplesPerPixel !== 1) return Uint8Array.from(luminance(n, (i, c) => src[i * ch + c] as number));
  // jpeg-js replicates the single component into R, G and B
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = src[i * ch] as number;
  return out;
}

interface StoredLayout {
  bitsStored: number;
  signed: boolean;
  highBit: number;
}

function applyDisplayChain(stored: StoredSamples, p: PreparedDicom, layout: StoredLayout, file: string): DecodedImage {
  const { meta, voi } = p;
  const width = meta.columns;
  const height = meta.rows;
  const n = width * height;
  const { bitsStored, signed, highBit } = layout;
  // MONOCHROME1 and Presentation LUT Shape INVERSE say the same thing (DX files carry both): one inversion
  const invert = meta.photometricInterpretation === 'MONOCHROME1' || meta.presentationLutShape === 'INVERSE';
  const slope = meta.rescaleSlope;
  const intercept = meta.rescaleIntercept;

  // The common case of RSNA and SIIM: 8-bit unsigned, identity LUTs. Stay in Uint8.
  if (stored instanceof Uint8Array && voi === null && slope === 1 && intercept === 0) {
    if (invert) for (let i = 0; i < n; i++) stored[i] = 255 - (stored[i] as number);
    return { width, height, data: stored, maxValue: 255 };
  }

  if (!(bitsStored >= 1 && bitsStored <= 16)) {
    throw new DataError('DICOM BitsStored is not supported', {
      file,
      field: '(0028,0101) BitsStored',
      expected: '1 to 16',
      found: String(bitsStored),
    });
  }
  const shift = highBit + 1 - bitsStored;
  const valueMask = 2 ** bitsStored - 1;
  // 16-bit unsigned, identity LUTs (a native CR / DX export): the masked samples are the output, in Uint16
  if (stored instanceof Uint16Array && voi === null && slope === 1 && intercept === 0 && !signed && shift === 0) {
    if (bitsStored < 16) for (let i = 0; i < n; i++) stored[i] = (stored[i] as number) & valueMask;
    if (invert) for (let i = 0; i < n; i++) stored[i] = valueMask - (stored[i] as number);
    return { width, height, data: stored, maxValue: valueMask };
  }
  const signBit = 2 ** (bitsStored - 1);
  const lowStored = signed ? -signBit : 0;
  const highStored = signed ? signBit - 1 : valueMask;
  const ends = [slope * lowStored + intercept, slope * highStored + intercept];
  const lo = Math.min(ends[0] as number, ends[1] as number);
  const hi = Math.max(ends[0] as number, ends[1] as number);
  // Every step depends on the stored value alone, and there are at most 2^16 of them: the chain runs once per
  // stored value into a table, then once per pixel as a lookup (a film has millions of pixels).
  const table = new Float32Array(valueMask + 1);
  for (let v = 0; v <= valueMask; v++) table[v] = slope * (signed && v >= signBit ? v - 2 * signBit : v) + intercept;
  let maxValue: number;
  if (voi?.kind === 'window') {
    maxValue = bitsStored <= 8 ? 255 : 65535;
    applyVoiWindow(table, voi.center, voi.width, voi.fn, maxValue, file);
  } else if (voi?.kind === 'lut') {
    maxValue = 2 ** voi.bits - 1;
    const last = voi.table.length - 1;
    for (let i = 0; i < table.length; i++) {
      const k = Math.round(table[i] as number) - voi.firstMapped;
      table[i] = Math.min(voi.table[k < 0 ? 0 : k > last ? last : k] as number, maxValue);
    }
  } else {
    maxValue = hi - lo;
    for (let i = 0; i < table.length; i++) table[i] = (table[i] as number) - lo;
  }
  if (!(maxValue > 0 && maxValue <= 3.4e38)) {
    // e.g. BitsStored 0, or a rescale so large that the range overflows: no image can be shown from it
    throw new DataError('DICOM pixel range is empty or not finite', {
      file,
      field: '(0028,0101) BitsStored / (0028,1053) RescaleSlope',
      expected: 'a finite range > 0',
      found: `${bitsStored} bits, slope ${slope}, range ${maxValue}`,
    });
  }
  if (invert) for (let i = 0; i < table.length; i++) table[i] = maxValue - (table[i] as number);
  // A window or VOI LUT maps to whole display levels: 8- or 16-bit output. Without one, integer levels up to 65535
  // (an integer rescale) stay 16-bit too; only a fractional or wider range needs floats.
  if (voi?.kind === 'window') for (let i = 0; i < table.length; i++) table[i] = Math.round(table[i] as number);
  const whole = maxValue <= 65535 && table.every((v) => Number.isInteger(v));
  const data = !whole ? new Float32Array(n) : maxValue <= 255 ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) data[i] = table[((stored[i] as number) >>> shift) & valueMask] as number;
  return { width, height, data, maxValue };
}

/** The error for a window width outside what VOI LUT function `fn` takes. */
function invalidWindowWidth(fn: string, expected: string, w: number, file: string): DataError {
  return new DataError(`DICOM WindowWidth is invalid for a ${fn} window`, {
    file,
    field: '(0028,1051) WindowWidth',
    expected,
    found: String(w),
  });
}

/** VOI LUT functions of PS3.3 C.11.2.1.2 / C.11.2.1.3, output range [0, ymax], in place. */
function applyVoiWindow(data: Float32Array, c: number, w: number, fn: string, ymax: number, file: string): void {
  const n = data.length;
  if (fn === 'LINEAR') {
    if (!(w >= 1)) throw invalidWindowWidth('LINEAR', '>= 1', w, file);
    const lower = c - 0.5 - (w - 1) / 2;
    const upper = c - 0.5 + (w - 1) / 2;
    for (let i = 0; i < n; i++) {
      const x = data[i] as number;
      data[i] = x <= lower ? 0 : x > upper ? ymax : ((x - (c - 0.5)) / (w - 1) + 0.5) * ymax;
    }
  } else if (fn === 'LINEAR_EXACT') {
    if (!(w > 0)) throw invalidWindowWidth('LINEAR_EXACT', '> 0', w, file);
    for (let i = 0; i < n; i++) {
      const x = data[i] as number;
      data[i] = x <= c - w / 2 ? 0 : x > c + w / 2 ? ymax : ((x - c) / w + 0.5) * ymax;
    }
  } else if (fn === 'SIGMOID') {
    if (!(w > 0)) throw invalidWindowWidth('SIGMOID', '> 0', w, file);
    for (let i = 0; i < n; i++) data[i] = ymax / (1 + Math.exp((-4 * ((data[i] as number) - c)) / w));
  } else {
    throw new DataError('DICOM VOI LUT function is not supported', {
      file,
      field: '(0028,1056) VOILUTFunction',
      expected: 'LINEAR, LINEAR_EXACT or SIGMOID',
      found: fn,
    });
  }
}
