import { hasTool, runTool } from './run-tool';
import { pixelModule, writeTestDicom, type TestElement } from './dicom-writer';

/*
 * Transcodes a native DICOM into every transfer syntax the decoder reads, with Debian's dcmtk and gdcm (the tools
 * of .ci/system-deps), at test time: the encoded files are made by independent, widely used encoders, never by this
 * package. Shared by the data package's tests and the demo's end-to-end test.
 */

/** One way to write a transfer syntax. */
export interface Transcoder {
  uid: string;
  /** Short label for test names and file names. */
  label: string;
  tool: string;
  args: (src: string, out: string) => string[];
  /** `exact`: lossless; `near`: JPEG-LS near-lossless with NEAR = 2; `lossy`: JPEG 2000 irreversible. */
  fidelity: 'exact' | 'near' | 'lossy';
  /** dcmcjpls refuses signed pixels for near-lossless. */
  unsigned?: true;
}

/** A transcoder whose command line is `<tool> <flags...> <src> <out>`. */
function via(
  uid: string,
  label: string,
  tool: string,
  flags: string[],
  fidelity: Transcoder['fidelity'] = 'exact',
): Transcoder {
  return { uid, label, tool, args: (s, o) => [...flags, s, o], fidelity };
}

export const TRANSCODERS: readonly Transcoder[] = [
  via('1.2.840.10008.1.2', 'implicit-le', 'dcmconv', ['+ti']),
  via('1.2.840.10008.1.2.2', 'big-endian', 'dcmconv', ['+tb']),
  via('1.2.840.10008.1.2.1.99', 'deflated', 'dcmconv', ['+td']),
  via('1.2.840.10008.1.2.5', 'rle-dcmtk', 'dcmcrle', []),
  via('1.2.840.10008.1.2.5', 'rle-gdcm', 'gdcmconv', ['--rle']),
  via('1.2.840.10008.1.2.4.57', 'jpeg-lossless-p14', 'dcmcjpeg', ['+el']),
  via('1.2.840.10008.1.2.4.70', 'jpeg-lossless-sv1', 'dcmcjpeg', ['+e1']),
  via('1.2.840.10008.1.2.4.70', 'jpeg-lossless-gdcm', 'gdcmconv', ['--jpeg']),
  via('1.2.840.10008.1.2.4.80', 'jpeg-ls-dcmtk', 'dcmcjpls', []),
  via('1.2.840.10008.1.2.4.80', 'jpeg-ls-gdcm', 'gdcmconv', ['--jpegls']),
  { ...via('1.2.840.10008.1.2.4.81', 'jpeg-ls-near', 'dcmcjpls', ['+en'], 'near'), unsigned: true },
  via('1.2.840.10008.1.2.4.90', 'j2k-lossless', 'gdcmconv', ['--j2k']),
  via('1.2.840.10008.1.2.4.91', 'j2k-lossy', 'gdcmconv', ['--j2k', '--lossy', '-r', '5'], 'lossy'),
];

/** The tools of {@link TRANSCODERS} that are not on PATH (empty when all are). */
export function missingTranscodeTools(): string[] {
  return [...new Set(TRANSCODERS.map((t) => t.tool))].filter((t) => !hasTool(t));
}

/** Writes `src` as `<dir>/<name>.<label>.dcm` with transcoder `t`; returns the path. */
export function transcode(t: Transcoder, src: string, dir: string, name: string): string {
  const out = `${dir}/${name}.${t.label}.dcm`;
  runTool(t.tool, t.args(src, out));
  return out;
}

/** A smooth film-like test image: broad gradients, two round "lungs", a bright "spine" and mild texture (no RNG). */
export function filmPattern(width: number, height: number, low: number, high: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const lung =
        Math.max(0, 1 - ((u - 0.3) ** 2 + (v - 0.5) ** 2) * 16) +
        Math.max(0, 1 - ((u - 0.7) ** 2 + (v - 0.5) ** 2) * 16);
      const spine = Math.exp(-(((u - 0.5) / 0.05) ** 2));
      const t = 0.55 + 0.25 * v - 0.35 * lung + 0.3 * spine + 0.03 * Math.sin(x * 0.9) * Math.cos(y * 0.7);
      out.push(Math.round(low + (high - low) * Math.min(1, Math.max(0, t))));
    }
  }
  return out;
}

/** The pixel layouts the tests write: unsigned or signed, bits stored (16-bit allocation above 8 bits). */
const LAYOUTS = {
  u8: { bitsAllocated: 8, bitsStored: 8, signed: false },
  u12: { bitsAllocated: 16, bitsStored: 12, signed: false },
  u16: { bitsAllocated: 16, bitsStored: 16, signed: false },
  s12: { bitsAllocated: 16, bitsStored: 12, signed: true },
  s16: { bitsAllocated: 16, bitsStored: 16, signed: true },
} as const;

/** A native DICOM of {@link filmPattern} between `low` and `high`, stored in `layout`. */
export function filmDicom(
  width: number,
  height: number,
  layout: keyof typeof LAYOUTS,
  [low, high]: [number, number],
  more: { photometric?: string; extra?: TestElement[] } = {},
): Uint8Array {
  return nativeDicom({ width, height, ...LAYOUTS[layout], values: filmPattern(width, height, low, high), ...more });
}

/** The identifiers gdcm needs to derive a lossy image, and a modality. */
const IDENTITY: TestElement[] = [
  { tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1.1' },
  { tag: [0x0008, 0x0018], vr: 'UI', value: '1.2.826.0.1.3680043.2.1125.1.1' },
  { tag: [0x0008, 0x0060], vr: 'CS', value: 'DX' },
  { tag: [0x0020, 0x000d], vr: 'UI', value: '1.2.826.0.1.3680043.2.1125.1.2' },
  { tag: [0x0020, 0x000e], vr: 'UI', value: '1.2.826.0.1.3680043.2.1125.1.3' },
];

/** A native explicit-LE monochrome DICOM of `values` (one per pixel; negative ones stored in two's complement). */
export function nativeDicom(opts: {
  width: number;
  height: number;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  signed: boolean;
  values: number[];
  photometric?: string;
  extra?: TestElement[];
}): Uint8Array {
  const { width, height, bitsAllocated, values } = opts;
  const pixels = new Uint8Array(width * height * (bitsAllocated / 8));
  const dv = new DataView(pixels.buffer);
  const mask = 2 ** opts.bitsStored - 1;
  values.forEach((v, i) => (bitsAllocated === 8 ? dv.setUint8(i, v & mask) : dv.setUint16(2 * i, v & mask, true)));
  return writeTestDicom([
    ...IDENTITY,
    ...pixelModule({
      rows: height,
      columns: width,
      bitsAllocated,
      bitsStored: opts.bitsStored,
      signed: opts.signed,
      ...(opts.photometric !== undefined ? { photometric: opts.photometric } : {}),
      pixels,
    }),
    ...(opts.extra ?? []),
  ]);
}
