import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '@multichexnet/core';
import { maxAbsDiff } from '@multichexnet/core/testing';
import { decodeDicom, decodeDicomAsync, SUPPORTED_TRANSFER_SYNTAXES } from '../src/codecs/dicom';
import { decodeImageAsync } from '../src/codecs/decode-image';
import type { DecodedImage } from '../src/codecs/decoded-image';
import { readDicomMeta } from '../src/codecs/dicom-meta';
import { itOnRealFile } from './realdata';
import { runTool } from './helpers/run-tool';
import { filmDicom, missingTranscodeTools, transcode, TRANSCODERS, type Transcoder } from './helpers/transcode-dicom';

const SIIM_DCM = '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm';
const missing = missingTranscodeTools();
const tmp = mkdtempSync(join(tmpdir(), 'mcx-syntaxes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const W = 96;
const H = 80;
const ds = (v: string): { tag: [number, number]; vr: string; value: string } => ({ tag: [0, 0], vr: 'DS', value: v });
const at = (tag: [number, number], el: { vr: string; value: string }) => ({ ...el, tag });

/** The native sources: every bit depth, sign and LUT the display chain handles. */
const SOURCES = {
  u8: filmDicom(W, H, 'u8', [0, 255]),
  'u12-mono1-rescaled': filmDicom(W, H, 'u12', [40, 4000], {
    photometric: 'MONOCHROME1',
    extra: [
      at([0x0028, 0x1052], ds('-100')),
      at([0x0028, 0x1053], ds('2')),
      at([0x0028, 0x1050], ds('3000\\4000')),
      at([0x0028, 0x1051], ds('5000\\2000')),
    ],
  }),
  u16: filmDicom(W, H, 'u16', [0, 65535]),
  's16-rescaled': filmDicom(W, H, 's16', [-3000, 3000], {
    extra: [at([0x0028, 0x1052], ds('-1024')), at([0x0028, 0x1053], ds('1'))],
  }),
  s12: filmDicom(W, H, 's12', [-2000, 2000]),
} as const;

function psnr(a: DecodedImage, b: DecodedImage): number {
  let se = 0;
  for (let i = 0; i < a.data.length; i++) se += ((a.data[i] as number) - (b.data[i] as number)) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10(a.maxValue ** 2 / (se / a.data.length));
}

/** Expected fidelity of each transcoder, stated here: lossless is exact, near-lossless within NEAR, lossy by PSNR. */
function expectFaithful(t: Transcoder, got: DecodedImage, ref: DecodedImage, slope: number): void {
  expect([got.width, got.height, got.maxValue, got.data.constructor.name]).toEqual([
    ref.width,
    ref.height,
    ref.maxValue,
    ref.data.constructor.name,
  ]);
  if (t.fidelity === 'exact') expect(maxAbsDiff(got.data, ref.data)).toBe(0);
  // NEAR = 2 stored levels, times the rescale slope in output units (compared without a VOI window)
  else if (t.fidelity === 'near') expect(maxAbsDiff(got.data, ref.data)).toBeLessThanOrEqual(2 * slope);
  // gdcm's irreversible JPEG 2000 at 5:1: the stated floor is 45 dB PSNR against the original (these films give >= 50)
  else expect(psnr(got, ref)).toBeGreaterThanOrEqual(45);
}

/** Largest difference of a and b once each is shifted so that its first pixel is 0 (gdcm --raw rewrites BitsStored). */
function maxAbsDiffUpToOffset(a: DecodedImage, b: DecodedImage): number {
  let m = 0;
  const a0 = a.data[0] as number;
  const b0 = b.data[0] as number;
  for (let i = 0; i < a.data.length; i++)
    m = Math.max(m, Math.abs((a.data[i] as number) - a0 - ((b.data[i] as number) - b0)));
  return m;
}

/** gdcm's own decode of a file (gdcmconv --raw), read back through the native path. */
function gdcmDecoded(file: string, voi: boolean): DecodedImage {
  const raw = `${file}.raw.dcm`;
  runTool('gdcmconv', ['--raw', file, raw]);
  return decodeDicom(new Uint8Array(readFileSync(raw)), raw, { voi });
}

describe.skipIf(missing.length > 0)(
  missing.length > 0
    ? `dcmtk / gdcm tools missing (${missing.join(', ')}): see .ci/system-deps`
    : 'every transfer syntax, transcoded by dcmtk and gdcm',
  () => {
    const files: Record<string, string> = {};
    beforeAll(() => {
      for (const [name, bytes] of Object.entries(SOURCES)) {
        files[name] = join(tmp, `${name}.dcm`);
        writeFileSync(files[name], bytes);
      }
    });

    it('covers every supported transfer syntax', () => {
      expect(new Set(TRANSCODERS.map((t) => t.uid))).toEqual(
        new Set(
          Object.keys(SUPPORTED_TRANSFER_SYNTAXES).filter(
            (u) => u !== '1.2.840.10008.1.2.1' && u !== '1.2.840.10008.1.2.4.50',
          ),
        ),
      );
    });

    for (const name of Object.keys(SOURCES) as (keyof typeof SOURCES)[]) {
      it(`${name}: each encoding decodes to the uncompressed file's pixels`, async () => {
        const src = files[name] as string;
        const slope = name.includes('rescaled') && name.startsWith('u12') ? 2 : 1;
        for (const t of TRANSCODERS) {
          if (t.unsigned === true && name.startsWith('s')) continue;
          const out = transcode(t, src, tmp, name);
          const bytes = new Uint8Array(readFileSync(out));
          expect(readDicomMeta(bytes, out).transferSyntaxUid, t.label).toBe(t.uid);
          const voi = t.fidelity === 'exact';
          const ref = decodeDicom(new Uint8Array(readFileSync(src)), src, { voi });
          const { image } = await decodeDicomAsync(bytes, out, { voi });
          expectFaithful(t, image, ref, slope);
          // a lossy file decodes exactly as its encoder's own library (OpenJPEG in gdcm) decodes it
          if (t.fidelity === 'lossy') expect(maxAbsDiffUpToOffset(image, gdcmDecoded(out, voi))).toBe(0);
        }
      });
    }

    itOnRealFile(
      SIIM_DCM,
      'the real SIIM film, decompressed by dcmtk, reads the same in every lossless encoding',
      async (siimPath) => {
        const native = join(tmp, 'siim-native.dcm');
        runTool('dcmdjpeg', [siimPath, native]);
        const ref = decodeDicom(new Uint8Array(readFileSync(native)), native);
        expect([ref.width, ref.height]).toEqual([1024, 1024]);
        for (const t of TRANSCODERS.filter((x) => x.fidelity !== 'lossy')) {
          const out = transcode(t, native, tmp, 'siim');
          const { image } = await decodeImageAsync(new Uint8Array(readFileSync(out)), out);
          expectFaithful(t, image, ref, 1);
        }
      },
    );

    it('the synchronous decoder reads RLE, big endian and deflate, and says which call reads the codec syntaxes', () => {
      const src = files['u16'] as string;
      const ref = decodeDicom(new Uint8Array(readFileSync(src)));
      for (const t of TRANSCODERS.filter((x) => ['rle-dcmtk', 'big-endian', 'deflated'].includes(x.label))) {
        expect(
          Array.from(decodeDicom(new Uint8Array(readFileSync(transcode(t, src, tmp, 'sync'))), t.label).data),
        ).toEqual(Array.from(ref.data));
      }
      const ls = transcode(TRANSCODERS.find((x) => x.label === 'jpeg-ls-dcmtk') as Transcoder, src, tmp, 'sync');
      expect(() => decodeDicom(new Uint8Array(readFileSync(ls)), 'sync.dcm')).toThrow(
        /needs its codec: decode it with decodeDicomAsync.*sync\.dcm.*1\.2\.840\.10008\.1\.2\.4\.80 \(JPEG-LS Lossless\)/,
      );
    });

    describe('a corrupt encoded fragment gives the one-line DataError naming the file', () => {
      /** Overwrites `count` bytes `skip` bytes after occurrence `nth` (0-based) of `marker` past the meta header. */
      function damage(bytes: Uint8Array, marker: number[], nth: number, skip: number, count: number): Uint8Array {
        const out = bytes.slice();
        let seen = 0;
        for (let i = 132; i < out.length - marker.length; i++) {
          if (marker.every((m, k) => out[i + k] === m) && seen++ === nth) {
            out.fill(0xff, i + skip, i + skip + count);
            return out;
          }
        }
        throw new Error('marker not found');
      }
      const cases: [string, string, number[], number, number, RegExp][] = [
        // the Huffman table segment (DHT) of the JPEG stream
        ['jpeg-lossless-p14', 'JPEG Lossless', [0xff, 0xc4], 0, 4, /found .+/],
        // the JPEG-LS scan header (SOS)
        ['jpeg-ls-dcmtk', 'JPEG-LS', [0xff, 0xda], 0, 2, /found .+/],
        // the JPEG 2000 coding style (COD) marker segment
        ['j2k-lossless', 'JPEG 2000', [0xff, 0x52], 0, 2, /found .+/],
        // the RLE header's segment count: the fragment item after the offset table's
        ['rle-dcmtk', 'RLE', [0xfe, 0xff, 0x00, 0xe0], 1, 8, /found 4294967295 RLE segments, expected 2/],
      ];
      for (const [label, name, marker, nth, skip, found] of cases) {
        it(name, async () => {
          const t = TRANSCODERS.find((x) => x.label === label) as Transcoder;
          const good = new Uint8Array(
            readFileSync(transcode(t, files['u12-mono1-rescaled'] as string, tmp, 'corrupt')),
          );
          const bad = damage(good, marker, nth, skip, label.startsWith('rle') ? 4 : 12);
          const err = await decodeDicomAsync(bad, 'broken.dcm').then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(DataError);
          const msg = (err as DataError).message;
          expect(msg).toMatch(
            new RegExp(
              `^DICOM ${name} fragment cannot be decoded \\(file broken\\.dcm, field \\(7FE0,0010\\) PixelData\\): expected an? ${name} frame of ${W}x${H}, `,
            ),
          );
          expect(msg).toMatch(found);
          expect(msg).not.toContain('\n');
          // the codec still decodes the next, intact file
          expect((await decodeDicomAsync(good, 'good.dcm')).image.width).toBe(W);
        });
      }
    });
  },
);
