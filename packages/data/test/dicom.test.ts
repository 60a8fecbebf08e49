import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { DataError } from '@multichexnet/core';
import { maxAbsDiff, meanAbsDiff } from '@multichexnet/core/testing';
import { decodeDicom } from '../src/codecs/dicom';
import { readDicomMeta } from '../src/codecs/dicom-meta';
import { PHI_TAGS } from '../src/codecs/phi-tags';
import { decodeImage } from '../src/codecs/decode-image';
import { itOnRealFile, realFile } from './realdata';
import { pixelModule, sequenceValue, writeTestDicom, type TestElement } from './helpers/dicom-writer';
import { hasTool, parsePgm, runTool } from './helpers/run-tool';

const SIIM_DCM = '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm';
const MONO1_DCM = 'Fake_MONOHR1.dcm';
const siimPath = realFile(SIIM_DCM);
const mono1Path = realFile(MONO1_DCM);
const DCMTK = hasTool('dcmj2pnm') && hasTool('dcmdjpeg') && hasTool('dcmconv') && hasTool('dcmcjpeg');
const tmp = mkdtempSync(join(tmpdir(), 'mcx-dicom-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint16(i * 2, v & 0xffff, true));
  return out;
}

/** The JPEG stream inside the file, cut at its SOI and EOI markers: an independent way to reach the payload. */
function jpegPayload(bytes: Uint8Array): Uint8Array {
  let soi = -1;
  for (let i = 132; i < bytes.length - 2; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd8 && bytes[i + 2] === 0xff) {
      soi = i;
      break;
    }
  }
  let eoi = -1;
  for (let i = bytes.length - 2; i > soi; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) {
      eoi = i + 2;
      break;
    }
  }
  return bytes.subarray(soi, eoi);
}

function pgmOf(dcm: string, args: string[] = []): ReturnType<typeof parsePgm> {
  const out = join(tmp, `${Math.random().toString(36).slice(2)}.pgm`);
  runTool('dcmj2pnm', [...args, dcm, out]);
  return parsePgm(readFileSync(out));
}

/**
 * The real SIIM film decompressed by dcmtk (`dcmdjpeg`, native explicit VR LE) as `<tmp>/<names[0]>.dcm`, and that
 * copy rewritten by `tool flags` as `<tmp>/<names[1]>.dcm`; returns both paths.
 */
function dcmtkCopies(names: [string, string], tool: string, flags: string[]): [string, string] {
  const native = join(tmp, `${names[0]}.dcm`);
  const out = join(tmp, `${names[1]}.dcm`);
  runTool('dcmdjpeg', [siimPath as string, native]);
  runTool(tool, [...flags, native, out]);
  return [native, out];
}

describe('decodeDicom on the real SIIM file', () => {
  itOnRealFile(SIIM_DCM, 'decodes JPEG Baseline to 1024x1024 equal to its JPEG payload decoded alone', (siimPath) => {
    const bytes = new Uint8Array(readFileSync(siimPath));
    const img = decodeDicom(bytes, SIIM_DCM);
    expect([img.width, img.height, img.maxValue]).toEqual([1024, 1024, 255]);
    const ref = jpeg.decode(jpegPayload(bytes), { useTArray: true, formatAsRGBA: false });
    const refGray = new Uint8Array(1024 * 1024).map((_, i) => ref.data[i * 3] as number);
    expect(Buffer.from(img.data as Uint8Array).equals(Buffer.from(refGray))).toBe(true);
    // not a constant image
    const mean = (img.data as Uint8Array).reduce((a, b) => a + b, 0) / img.data.length;
    expect(mean).toBeGreaterThan(20);
    expect(mean).toBeLessThan(235);
  });

  it.skipIf(siimPath === null || mono1Path === null)('decodes the MONOCHROME1 copy to the inverse', () => {
    const a = decodeDicom(new Uint8Array(readFileSync(siimPath as string)));
    const b = decodeDicom(new Uint8Array(readFileSync(mono1Path as string)));
    expect(b.width).toBe(1024);
    let mismatches = 0;
    for (let i = 0; i < a.data.length; i++) if ((b.data[i] as number) !== 255 - (a.data[i] as number)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it.skipIf(siimPath === null || !DCMTK)(
    DCMTK ? 'agrees with dcmtk dcmj2pnm within JPEG IDCT rounding' : 'dcmtk absent: skipped',
    () => {
      const img = decodeDicom(new Uint8Array(readFileSync(siimPath as string)));
      const ref = pgmOf(siimPath as string);
      expect([ref.width, ref.height]).toEqual([1024, 1024]);
      // two IDCT implementations (jpeg-js vs IJG) round differently: measured max 1, mean 0.07 levels
      expect(maxAbsDiff(img.data, ref.data)).toBeLessThanOrEqual(2);
      expect(meanAbsDiff(img.data, ref.data)).toBeLessThan(0.2);
    },
  );

  it.skipIf(siimPath === null || !DCMTK)(
    'decodes native explicit and implicit VR copies (made by dcmtk) exactly as dcmtk does',
    () => {
      const [explicit, implicit] = dcmtkCopies(['explicit', 'implicit'], 'dcmconv', ['+ti']);
      const ref = pgmOf(explicit);
      for (const f of [explicit, implicit]) {
        const bytes = new Uint8Array(readFileSync(f));
        expect(readDicomMeta(bytes).transferSyntaxUid).toBe(
          f === explicit ? '1.2.840.10008.1.2.1' : '1.2.840.10008.1.2',
        );
        const img = decodeDicom(bytes, f);
        expect(Array.from(img.data)).toEqual(ref.data);
      }
    },
  );

  it.skipIf(siimPath === null || !DCMTK)(
    'rejects an unsupported transfer syntax (JPEG Extended) naming file and UID',
    () => {
      const [, extended] = dcmtkCopies(['explicit-for-extended', 'extended'], 'dcmcjpeg', ['+ee']);
      const bytes = new Uint8Array(readFileSync(extended));
      expect(() => decodeDicom(bytes, extended)).toThrow(DataError);
      expect(() => decodeDicom(bytes, extended)).toThrow(/extended\.dcm.*1\.2\.840\.10008\.1\.2\.4\.51/s);
    },
  );

  it.skipIf(siimPath === null)('readDicomMeta returns safe fields and no PHI value', () => {
    const bytes = new Uint8Array(readFileSync(siimPath as string));
    const meta = readDicomMeta(bytes, SIIM_DCM);
    expect(meta).toMatchObject({
      transferSyntaxUid: '1.2.840.10008.1.2.4.50',
      modality: 'CR',
      bodyPartExamined: 'CHEST',
      viewPosition: 'PA',
      rows: 1024,
      columns: 1024,
      bitsAllocated: 8,
      bitsStored: 8,
      photometricInterpretation: 'MONOCHROME2',
      pixelSpacing: [0.168, 0.168],
      lossyImageCompression: true,
    });
    expect(meta.windowCenter).toBeUndefined();
    expect(meta.rescaleSlope).toBe(1);
    const json = JSON.stringify(meta);
    // every PHI value present in the file (read straight from the bytes) is absent from the meta
    const text = new TextDecoder('latin1').decode(bytes);
    const phiValues = [
      '16d7f894-55d7-4d95-8957-d18987f0e981',
      '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819',
      '1.2.276.0.7230010.3.1.2.8323329.6904.1517875201.850818',
      '19010101',
      'view: PA',
    ];
    for (const v of phiValues) {
      expect(text.includes(v)).toBe(true);
      expect(json.includes(v)).toBe(false);
    }
    const keys = Object.keys(meta).map((k) => k.toLowerCase());
    for (const { keyword } of PHI_TAGS) expect(keys).not.toContain(keyword.toLowerCase());
  });
});

describe('decodeDicom on synthetic native files', () => {
  const base = (extra: TestElement[], pix: Parameters<typeof pixelModule>[0]): Uint8Array =>
    writeTestDicom([...pixelModule(pix), ...extra]);

  it('reads 8-bit native MONOCHROME2 as Uint8 unchanged', () => {
    const pixels = new Uint8Array([0, 10, 200, 255, 1, 2]);
    const img = decodeDicom(base([], { rows: 2, columns: 3, bitsAllocated: 8, pixels }));
    expect(img.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(img.data)).toEqual([0, 10, 200, 255, 1, 2]);
    expect(img.maxValue).toBe(255);
  });

  it('masks 12 stored bits in 16 allocated bits and ignores the unused high bits', () => {
    // 0xF000 bits are garbage (overlay-style) and must be masked away
    const img = decodeDicom(
      base([], {
        rows: 1,
        columns: 3,
        bitsAllocated: 16,
        bitsStored: 12,
        pixels: u16le([0xf000 | 4095, 0x1000 | 0, 2048]),
      }),
    );
    expect(Array.from(img.data)).toEqual([4095, 0, 2048]);
    expect(img.maxValue).toBe(4095);
  });

  it('sign-extends PixelRepresentation=1 and applies rescale slope/intercept', () => {
    // 12-bit two's complement: 0xFFF = -1, 0x800 = -2048, 0x7FF = 2047
    const img = decodeDicom(
      base(
        [
          { tag: [0x0028, 0x1052], vr: 'DS', value: '-1024' },
          { tag: [0x0028, 0x1053], vr: 'DS', value: '2' },
        ],
        { rows: 1, columns: 3, bitsAllocated: 16, bitsStored: 12, signed: true, pixels: u16le([0xfff, 0x800, 0x7ff]) },
      ),
    );
    // modality values -1026, -5120, 3070; range [2*-2048-1024, 2*2047-1024] shifted to start at 0
    expect(Array.from(img.data)).toEqual([-1026 + 5120, 0, 3070 + 5120]);
    expect(img.maxValue).toBe(3070 + 5120);
  });

  it('applies a LINEAR VOI window and clamps outside it; voi:false keeps the raw range', () => {
    const file = base(
      [
        { tag: [0x0028, 0x1050], vr: 'DS', value: '1000.5' },
        { tag: [0x0028, 0x1051], vr: 'DS', value: '201' },
      ],
      { rows: 1, columns: 4, bitsAllocated: 16, bitsStored: 12, pixels: u16le([0, 900, 1000, 4000]) },
    );
    const img = decodeDicom(file);
    expect(img.maxValue).toBe(65535);
    // window [900, 1100): x <= 900 -> 0, x > 1100 -> max, centre (1000) -> (1000-1000)/200+0.5 = half, a whole level
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(img.data)).toEqual([0, 0, Math.round(0.5 * 65535), 65535]);
    const raw = decodeDicom(file, 'f.dcm', { voi: false });
    expect(Array.from(raw.data)).toEqual([0, 900, 1000, 4000]);
  });

  it('inverts MONOCHROME1 after the VOI window', () => {
    const img = decodeDicom(
      base(
        [
          { tag: [0x0028, 0x1050], vr: 'DS', value: '128' },
          { tag: [0x0028, 0x1051], vr: 'DS', value: '1' },
        ],
        { rows: 1, columns: 2, bitsAllocated: 8, photometric: 'MONOCHROME1', pixels: new Uint8Array([0, 200]) },
      ),
    );
    expect(Array.from(img.data)).toEqual([255, 0]);
  });

  /** A 12-bit file with two windows and a VOI LUT Sequence of one 4-entry LUT mapping 100..103. */
  const voiFile = (extra: TestElement[] = []): Uint8Array =>
    base(
      [
        { tag: [0x0028, 0x1050], vr: 'DS', value: '1000\\3000' },
        { tag: [0x0028, 0x1051], vr: 'DS', value: '201\\2001' },
        {
          tag: [0x0028, 0x3010],
          vr: 'SQ',
          value: sequenceValue([
            [
              { tag: [0x0028, 0x3002], vr: 'US', value: [4, 100, 12] },
              { tag: [0x0028, 0x3006], vr: 'OW', value: u16le([10, 20, 30, 4000]) },
            ],
          ]),
        },
        ...extra,
      ],
      { rows: 1, columns: 5, bitsAllocated: 16, bitsStored: 12, pixels: u16le([0, 100, 101, 103, 3000]) },
    );

  it('applies the first VOI LUT Sequence item over the windows, clamping outside its range', () => {
    const img = decodeDicom(voiFile());
    expect(img.maxValue).toBe(4095);
    expect(Array.from(img.data)).toEqual([10, 10, 20, 4000, 4000]);
    expect(readDicomMeta(voiFile()).voiLutCount).toBe(1);
  });

  it('voiWindow picks a window by index, over the LUT; a missing one is a DataError naming the file', () => {
    const w1 = decodeDicom(voiFile(), 'w.dcm', { voiWindow: 1 });
    // window 2: centre 3000, width 2001 -> [2000, 4000): 3000 is the centre, 0..103 below it
    expect(w1.maxValue).toBe(65535);
    expect(Array.from(w1.data)).toEqual([0, 0, 0, 0, Math.round(((3000 - 2999.5) / 2000 + 0.5) * 65535)]);
    const w0 = decodeDicom(voiFile(), 'w.dcm', { voiWindow: 0 });
    expect(Array.from(w0.data).slice(0, 2)).toEqual([0, 0]);
    expect(() => decodeDicom(voiFile(), 'w.dcm', { voiWindow: 2 })).toThrow(
      /no such VOI window \(file w\.dcm.*expected voiWindow an index below 2, found 2/,
    );
    expect(Array.from(decodeDicom(voiFile(), 'w.dcm', { voi: false }).data)).toEqual([0, 100, 101, 103, 3000]);
  });

  it('Presentation LUT Shape INVERSE inverts MONOCHROME2; with MONOCHROME1 the two mean one inversion', () => {
    const inverse = { tag: [0x2050, 0x0020] as [number, number], vr: 'CS', value: 'INVERSE' };
    const pixels = new Uint8Array([0, 200]);
    expect(Array.from(decodeDicom(base([inverse], { rows: 1, columns: 2, bitsAllocated: 8, pixels })).data)).toEqual([
      255, 55,
    ]);
    const mono1 = decodeDicom(
      base([], { rows: 1, columns: 2, bitsAllocated: 8, photometric: 'MONOCHROME1', pixels: pixels.slice() }),
    );
    const both = decodeDicom(
      base([inverse], { rows: 1, columns: 2, bitsAllocated: 8, photometric: 'MONOCHROME1', pixels: pixels.slice() }),
    );
    expect(Array.from(both.data)).toEqual(Array.from(mono1.data));
    expect(Array.from(both.data)).toEqual([255, 55]);
    expect(readDicomMeta(base([inverse], { rows: 1, columns: 2, bitsAllocated: 8, pixels })).presentationLutShape).toBe(
      'INVERSE',
    );
  });

  it.skipIf(!DCMTK)(
    'inflates a deflated file only up to maxInflatedBytes, naming the file when it expands past it',
    () => {
      const flat = join(tmp, 'flat.dcm');
      const deflated = join(tmp, 'bomb.dcm');
      writeFileSync(
        flat,
        base([], { rows: 512, columns: 512, bitsAllocated: 16, bitsStored: 12, pixels: new Uint8Array(512 * 512 * 2) }),
      );
      runTool('dcmconv', ['+td', flat, deflated]);
      const bytes = new Uint8Array(readFileSync(deflated));
      expect(bytes.length).toBeLessThan(10_000);
      expect(decodeDicom(bytes, 'bomb.dcm').width).toBe(512);
      const limit =
        /DICOM deflated data set expands past the limit \(file bomb\.dcm, field maxInflatedBytes\): expected at most 100000 bytes inflated/;
      expect(() => decodeDicom(bytes, 'bomb.dcm', { maxInflatedBytes: 100_000 })).toThrow(limit);
      expect(() => readDicomMeta(bytes, 'bomb.dcm', { maxInflatedBytes: 100_000 })).toThrow(limit);
      // a cut deflate stream
      expect(() => decodeDicom(bytes.subarray(0, bytes.length - 40), 'cut.dcm')).toThrow(
        /DICOM deflated data set cannot be inflated \(file cut\.dcm/,
      );
    },
  );

  it('rejects a file without pixel data, and garbage bytes, with DataErrors', () => {
    const noPixels = writeTestDicom(
      pixelModule({ rows: 1, columns: 1, bitsAllocated: 8, pixels: new Uint8Array(2) }).filter(
        (e) => e.tag[0] !== 0x7fe0,
      ),
    );
    expect(() => decodeDicom(noPixels, 'np.dcm')).toThrow(/no pixel data.*np\.dcm/);
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4, 5]), 'x.bin')).toThrow(DataError);
  });

  it('decodeImage dispatches DICOM by magic bytes', () => {
    const img = decodeImage(
      base([], { rows: 1, columns: 2, bitsAllocated: 8, pixels: new Uint8Array([7, 9]) }),
      'noext',
    );
    expect(Array.from(img.data)).toEqual([7, 9]);
  });
});
