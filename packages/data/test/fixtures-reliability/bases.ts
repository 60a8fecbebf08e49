import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import jpegJs from 'jpeg-js';
import sharp from 'sharp';
import { createRng } from '@multichexnet/core';
import { rleEncode } from '../../src/codecs/rle';
import { encapsulatedPixelData, pixelModule, writeTestDicom, type TestElement } from '../helpers/dicom-writer';
import { REALDATA } from '../realdata';
import type { Container } from './mutate';

/*
 * The valid inputs the fuzz and bad-input tests start from: small film-like images written by independent encoders
 * (fast-png, sharp / libvips, jpeg-js, the tests' own DICOM writer) in the layouts the decoders meet, and
 * the real files of ../shared/realdata when present. Everything is generated at test time from seeds: no binary
 * fixture is committed.
 */

/** One valid input. `real` marks the (large, slow to decode) real files. */
export interface BaseInput {
  name: string;
  container: Container;
  bytes: Uint8Array;
  real: boolean;
}

/**
 * An 8-bit film-like image [size, size]: a bright body, two darker lung fields, a brighter spine and seeded noise
 * (the decoders only need realistic value ranges and smooth structure, not anatomy).
 */
export function film(size: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x / size - 0.5;
      const v = y / size - 0.5;
      const body = Math.max(0, 1 - (u * u) / 0.18 - (v * v) / 0.3);
      const lungs = Math.max(0, 1 - (Math.abs(u) - 0.2) ** 2 / 0.012 - (v + 0.05) ** 2 / 0.08);
      const value = 30 + 170 * body - 90 * lungs + 40 * Math.exp(-(u * u) / 0.002) + rng.normal(0, 6);
      out[y * size + x] = Math.min(255, Math.max(0, Math.round(value)));
    }
  }
  return out;
}

/**
 * The marker every fake identifying value of {@link dicomFilm} contains: no error message, log or output may repeat
 * it (the files carry it in PatientName, PatientAddress, InstitutionName, ... as a real study carries PHI).
 */
export const FAKE_PHI_MARKER = 'FAKEPHI';

/** Fake identifying attributes of the seed's patient and study, each value holding {@link FAKE_PHI_MARKER}. */
function fakePhiElements(seed: number): TestElement[] {
  const text = (group: number, element: number, vr: string, value: string): TestElement => ({
    tag: [group, element],
    vr,
    value,
  });
  return [
    text(0x0008, 0x0050, 'SH', `${FAKE_PHI_MARKER}${seed}`), // AccessionNumber
    text(0x0008, 0x0080, 'LO', `${FAKE_PHI_MARKER} GENERAL HOSPITAL`), // InstitutionName
    text(0x0008, 0x0090, 'PN', `${FAKE_PHI_MARKER}^REFERRER`), // ReferringPhysicianName
    text(0x0008, 0x1010, 'SH', `${FAKE_PHI_MARKER}CR1`), // StationName
    text(0x0010, 0x0010, 'PN', `${FAKE_PHI_MARKER}^DOE^JANE`), // PatientName
    text(0x0010, 0x0020, 'LO', `00000000-0000-4000-8000-${String(seed).padStart(12, '0')}`), // PatientID
    text(0x0010, 0x0030, 'DA', '19700101'), // PatientBirthDate
    text(0x0010, 0x0040, 'CS', 'F'), // PatientSex
    text(0x0010, 0x1010, 'AS', '050Y'), // PatientAge
    text(0x0010, 0x1040, 'LO', `1 ${FAKE_PHI_MARKER} STREET`), // PatientAddress
    text(0x0008, 0x0060, 'CS', 'CR'), // Modality
    text(0x0018, 0x5101, 'CS', 'PA'), // ViewPosition
  ];
}

/** A gray 8-bit PNG of a film (fast-png). */
export function pngGray8(size: number, seed: number): Uint8Array {
  return encodePng({ width: size, height: size, data: film(size, seed), channels: 1, depth: 8 });
}

/**
 * An 8-bit MONOCHROME2 DICOM film as the RSNA / SIIM files are stored, fake PHI included: JPEG Baseline (one gray
 * frame from libjpeg-turbo through sharp, encapsulated) or explicit VR little endian native pixels.
 */
export async function dicomFilm(
  size: number,
  seed: number,
  transferSyntax: 'jpeg-baseline' | 'explicit-vr-little-endian',
): Promise<Uint8Array> {
  const pixels = film(size, seed);
  const elements = [...pixelModule({ rows: size, columns: size, bitsAllocated: 8, pixels }), ...fakePhiElements(seed)];
  if (transferSyntax === 'explicit-vr-little-endian') return writeTestDicom(elements);
  const raw = sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 1 } });
  const frame = new Uint8Array(
    await raw.toColourspace('b-w').jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer(),
  );
  return writeTestDicom(
    [...elements.filter((e) => e.tag[0] !== 0x7fe0), encapsulatedPixelData(frame)],
    '1.2.840.10008.1.2.4.50',
  );
}

/** A native 16-bit DICOM (12 bits stored, rescale, VOI window), written by the tests' own writer. */
export function dicomNative16(size: number, seed: number, photometric = 'MONOCHROME2'): Uint8Array {
  const px = film(size, seed);
  const pixels = new Uint8Array(size * size * 2);
  for (let i = 0; i < px.length; i++) {
    const v = (px[i] as number) * 16;
    pixels[2 * i] = v & 0xff;
    pixels[2 * i + 1] = v >> 8;
  }
  return writeTestDicom([
    ...pixelModule({ rows: size, columns: size, bitsAllocated: 16, bitsStored: 12, photometric, pixels }),
    { tag: [0x0008, 0x0060], vr: 'CS', value: 'CR' },
    { tag: [0x0028, 0x1050], vr: 'DS', value: '2048' },
    { tag: [0x0028, 0x1051], vr: 'DS', value: '4000' },
    { tag: [0x0028, 0x1052], vr: 'DS', value: '0' },
    { tag: [0x0028, 0x1053], vr: 'DS', value: '1' },
  ]);
}

/** Real files of ../shared/realdata that exist here. */
export function realInputs(): BaseInput[] {
  const files: [string, Container][] = [
    ['00000001_000.png', 'png'],
    ['16747_3_1.jpg', 'jpeg'],
    ['1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm', 'dicom'],
    ['Fake_MONOHR1.dcm', 'dicom'],
  ];
  return files
    .filter(([f]) => existsSync(join(REALDATA, f)))
    .map(([f, container]) => ({
      name: `real:${f}`,
      container,
      bytes: new Uint8Array(readFileSync(join(REALDATA, f))),
      real: true,
    }));
}

/** The generated image inputs (every container, several layouts each). */
export async function syntheticImageInputs(): Promise<BaseInput[]> {
  const f48 = film(48, 11);
  const rgba = new Uint8Array(40 * 40 * 4);
  const f40 = film(40, 12);
  for (let i = 0; i < f40.length; i++) rgba.set([f40[i] as number, f40[i] as number, f40[i] as number, 255], i * 4);
  const gray16 = new Uint16Array(48 * 48);
  for (let i = 0; i < f48.length; i++) gray16[i] = (f48[i] as number) * 257;
  const raw = (px: Uint8Array, size: number) =>
    sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } });
  const out: [string, Container, Uint8Array][] = [
    ['png:gray8', 'png', pngGray8(64, 10)],
    ['png:gray16', 'png', encodePng({ width: 48, height: 48, data: gray16, channels: 1, depth: 16 })],
    ['png:rgba', 'png', encodePng({ width: 40, height: 40, data: rgba, channels: 4, depth: 8 })],
    [
      'png:palette(sharp)',
      'png',
      new Uint8Array(await raw(film(48, 13), 48).png({ palette: true, colours: 64 }).toBuffer()),
    ],
    ['png:interlaced(sharp)', 'png', new Uint8Array(await raw(film(48, 14), 48).png({ progressive: true }).toBuffer())],
    [
      'jpeg:gray(sharp)',
      'jpeg',
      new Uint8Array(await raw(film(64, 15), 64).toColourspace('b-w').jpeg({ quality: 85 }).toBuffer()),
    ],
    [
      'jpeg:progressive-rgb(sharp)',
      'jpeg',
      new Uint8Array(
        await raw(film(48, 16), 48).toColourspace('srgb').jpeg({ quality: 80, progressive: true }).toBuffer(),
      ),
    ],
    [
      'jpeg:baseline(jpeg-js)',
      'jpeg',
      new Uint8Array(jpegJs.encode({ width: 40, height: 40, data: Buffer.from(rgba) }, 80).data),
    ],
    ['dicom:jpeg-baseline', 'dicom', await dicomFilm(64, 17, 'jpeg-baseline')],
    ['dicom:explicit-le', 'dicom', await dicomFilm(48, 18, 'explicit-vr-little-endian')],
    ['dicom:native16-voi', 'dicom', dicomNative16(40, 19)],
    ['dicom:native16-mono1', 'dicom', dicomNative16(32, 20, 'MONOCHROME1')],
  ];
  return out.map(([name, container, bytes]) => ({ name, container, bytes, real: false }));
}

/** Valid SIIM RLE strings of seeded masks, with the mask size they belong to. */
export function rleInputs(): { rle: string; width: number; height: number }[] {
  const out: { rle: string; width: number; height: number }[] = [];
  const rng = createRng('rle-bases');
  for (const [w, h] of [
    [64, 64],
    [32, 48],
    [17, 5],
  ] as const) {
    for (let k = 0; k < 3; k++) {
      const data = new Uint8Array(w * h);
      const blobs = rng.int(1, 4);
      for (let b = 0; b < blobs; b++) {
        const cx = rng.int(0, w);
        const cy = rng.int(0, h);
        const r = rng.int(1, Math.max(2, Math.floor(Math.min(w, h) / 3)));
        for (let y = Math.max(0, cy - r); y < Math.min(h, cy + r); y++)
          for (let x = Math.max(0, cx - r); x < Math.min(w, cx + r); x++) data[y * w + x] = 1;
      }
      out.push({ rle: rleEncode({ width: w, height: h, data }), width: w, height: h });
    }
  }
  return out;
}
