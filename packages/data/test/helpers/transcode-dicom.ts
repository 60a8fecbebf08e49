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

export const TRANSCODERS: readonly Transcoder[] = [
  { uid: '1.2.840.10008.1.2', label: 'implicit-le', tool: 'dcmconv', args: (s, o) => ['+ti', s, o], fidelity: 'exact' },
  {
    uid: '1.2.840.10008.1.2.2',
    label: 'big-endian',
    tool: 'dcmconv',
    args: (s, o) => ['+tb', s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.1.99',
    label: 'deflated',
    tool: 'dcmconv',
    args: (s, o) => ['+td', s, o],
    fidelity: 'exact',
  },
  { uid: '1.2.840.10008.1.2.5', label: 'rle-dcmtk', tool: 'dcmcrle', args: (s, o) => [s, o], fidelity: 'exact' },
  {
    uid: '1.2.840.10008.1.2.5',
    label: 'rle-gdcm',
    tool: 'gdcmconv',
    args: (s, o) => ['--rle', s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.4.57',
    label: 'jpeg-lossless-p14',
    tool: 'dcmcjpeg',
    args: (s, o) => ['+el', s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.4.70',
    label: 'jpeg-lossless-sv1',
    tool: 'dcmcjpeg',
    args: (s, o) => ['+e1', s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.4.70',
    label: 'jpeg-lossless-gdcm',
    tool: 'gdcmconv',
    args: (s, o) => ['--jpeg', s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.4.80',
    label: 'jpeg-ls-dcmtk',
    tool: 'dcmcjpls',
    args: (s, o) => [s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.4.80',
    label: 'jpeg-ls-gdcm',
    tool: 'gdcmconv',
    args: (s, o) => ['--jpegls', s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.4.81',
    label: 'jpeg-ls-near',
    tool: 'dcmcjpls',
    args: (s, o) => ['+en', s, o],
    fidelity: 'near',
    unsigned: true,
  },
  {
    uid: '1.2.840.10008.1.2.4.90',
    label: 'j2k-lossless',
    tool: 'gdcmconv',
    args: (s, o) => ['--j2k', s, o],
    fidelity: 'exact',
  },
  {
    uid: '1.2.840.10008.1.2.4.91',
    label: 'j2k-lossy',
    tool: 'gdcmconv',
    args: (s, o) => ['--j2k', '--lossy', '-r', '5', s, o],
    fidelity: 'lossy',
  },
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
