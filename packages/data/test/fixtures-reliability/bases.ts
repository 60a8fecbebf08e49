import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode as encodePng } from 'fast-png';
import jpegJs from 'jpeg-js';
import sharp from 'sharp';
import { createRng } from '@multichexnet/core';
import { renderFilm } from '../../src/synth/render';
import { encodeDicomFilm } from '../../src/synth/dicom-writer';
import { fakePhi } from '../../src/synth/phi';
import { rleEncode } from '../../src/codecs/rle';
import { pixelModule, writeTestDicom } from '../helpers/dicom-writer';
import type { Container } from './mutate';

/*
 * The valid inputs the fuzz and bad-input tests start from: small synthetic films written by independent encoders
 * (fast-png, sharp / libvips, jpeg-js, dcmjs, the tests' own DICOM writer) in the layouts the decoders meet, and
 * the real files of ../shared/realdata when present. Everything is generated at test time from seeds: no binary
 * fixture is committed.
 */

/** `<repoRoot>/../shared/realdata`, from this file's location. */
export const REALDATA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', 'shared', 'realdata');

/** One valid input. `real` marks the (large, slow to decode) real files. */
export interface BaseInput {
  name: string;
  container: Container;
  bytes: Uint8Array;
  real: boolean;
}

/** An 8-bit chest film [size, size] drawn by the synthetic generator. */
export function film(size: number, seed: number): Uint8Array {
  return renderFilm({ size, view: 'PA', sex: seed % 2 === 0 ? 'F' : 'M', findings: [] }, createRng(seed)).pixels;
}

/** A gray 8-bit PNG of a film (fast-png). */
export function pngGray8(size: number, seed: number): Uint8Array {
  return encodePng({ width: size, height: size, data: film(size, seed), channels: 1, depth: 8 });
}

/** A DICOM film as `synthesize` writes it (dcmjs; JPEG Baseline or explicit VR little endian), fake PHI included. */
export async function dicomFilm(size: number, seed: number, transferSyntax: 'jpeg-baseline' | 'explicit-vr-little-endian'): Promise<Uint8Array> {
  const rng = createRng(seed);
  return encodeDicomFilm({
    pixels: film(size, seed),
    width: size,
    height: size,
    transferSyntax,
    jpegQuality: 90,
    studyInstanceUid: `1.2.276.0.7230010.3.1.2.8323329.${900000 + seed}.1517874000.1`,
    seriesInstanceUid: `1.2.276.0.7230010.3.1.3.8323329.${900000 + seed}.1517874000.2`,
    sopInstanceUid: `1.2.276.0.7230010.3.1.4.8323329.${900000 + seed}.1517874000.3`,
    patientId: `00000000-0000-4000-8000-${String(seed).padStart(12, '0')}`,
    patientSex: 'F',
    patientAge: 50,
    viewPosition: 'PA',
    pixelSpacing: 0.5,
    phi: fakePhi(rng, 'F', 50),
  });
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
    .map(([f, container]) => ({ name: `real:${f}`, container, bytes: new Uint8Array(readFileSync(join(REALDATA, f))), real: true }));
}

/** The synthetic image inputs (every container, several layouts each). */
export async function syntheticImageInputs(): Promise<BaseInput[]> {
  const f48 = film(48, 11);
  const rgba = new Uint8Array(40 * 40 * 4);
  const f40 = film(40, 12);
  for (let i = 0; i < f40.length; i++) rgba.set([f40[i] as number, f40[i] as number, f40[i] as number, 255], i * 4);
  const gray16 = new Uint16Array(48 * 48);
  for (let i = 0; i < f48.length; i++) gray16[i] = (f48[i] as number) * 257;
  const raw = (px: Uint8Array, size: number) => sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } });
  const out: [string, Container, Uint8Array][] = [
    ['png:gray8', 'png', pngGray8(64, 10)],
    ['png:gray16', 'png', encodePng({ width: 48, height: 48, data: gray16, channels: 1, depth: 16 })],
    ['png:rgba', 'png', encodePng({ width: 40, height: 40, data: rgba, channels: 4, depth: 8 })],
    ['png:palette(sharp)', 'png', new Uint8Array(await raw(film(48, 13), 48).png({ palette: true, colours: 64 }).toBuffer())],
    ['png:interlaced(sharp)', 'png', new Uint8Array(await raw(film(48, 14), 48).png({ progressive: true }).toBuffer())],
    ['jpeg:gray(sharp)', 'jpeg', new Uint8Array(await raw(film(64, 15), 64).toColourspace('b-w').jpeg({ quality: 85 }).toBuffer())],
    ['jpeg:progressive-rgb(sharp)', 'jpeg', new Uint8Array(await raw(film(48, 16), 48).toColourspace('srgb').jpeg({ quality: 80, progressive: true }).toBuffer())],
    ['jpeg:baseline(jpeg-js)', 'jpeg', new Uint8Array(jpegJs.encode({ width: 40, height: 40, data: Buffer.from(rgba) }, 80).data)],
    ['dicom:jpeg-baseline(dcmjs)', 'dicom', await dicomFilm(64, 17, 'jpeg-baseline')],
    ['dicom:explicit-le(dcmjs)', 'dicom', await dicomFilm(48, 18, 'explicit-vr-little-endian')],
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
        for (let y = Math.max(0, cy - r); y < Math.min(h, cy + r); y++) for (let x = Math.max(0, cx - r); x < Math.min(w, cx + r); x++) data[y * w + x] = 1;
      }
      out.push({ rle: rleEncode({ width: w, height: h, data }), width: w, height: h });
    }
  }
  return out;
}
