import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { DataError } from '@multichexnet/core';
import { decodePng } from '../src/codecs/png';
import { decodeJpeg } from '../src/codecs/jpeg';
import { decodeImage, sniffImageFormat } from '../src/codecs/decode-image';
import { itOnRealFile, realFile } from './realdata';

const PNGS = ['00000001_000.png', '00027426_000.png'];
const JPEGS = ['16747_3_1.jpg', 'covid-19-pneumonia-58-prior.jpg'];

/** pngjs (an independent decoder) writes a PNG of the given colour type and depth. */
function writePng(
  width: number,
  height: number,
  colorType: 0 | 2 | 4 | 6,
  bitDepth: 8 | 16,
  rgba: number[],
): Uint8Array {
  const png = new PNG({ width, height, colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
  png.data = Buffer.from(rgba);
  if (bitDepth === 16) {
    // pngjs takes 16-bit input as a Uint16Array-backed buffer
    const d = new Uint16Array(rgba);
    (png as unknown as { data: Uint16Array }).data = d;
  }
  return new Uint8Array(PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true }));
}

describe('decodePng', () => {
  for (const name of PNGS) {
    itOnRealFile(name, `decodes the real NIH ${name} exactly as pngjs does`, (path) => {
      const bytes = new Uint8Array(readFileSync(path));
      const img = decodePng(bytes, name);
      const ref = PNG.sync.read(Buffer.from(bytes));
      expect([img.width, img.height]).toEqual([ref.width, ref.height]);
      expect(img.maxValue).toBe(255);
      let mismatches = 0;
      for (let i = 0; i < img.data.length; i++) if (img.data[i] !== ref.data[i * 4]) mismatches++;
      expect(mismatches).toBe(0);
      expect(sniffImageFormat(bytes)).toBe('png');
    });
  }

  it('takes luminance of RGBA and the first channel of gray+alpha', () => {
    const rgba = [255, 0, 0, 255, 10, 10, 10, 0, 0, 255, 0, 128];
    const rgb = decodePng(writePng(3, 1, 6, 8, rgba));
    expect(Array.from(rgb.data)).toEqual([76, 10, 150]); // round(0.299*255), 10, round(0.587*255)
    const ga = decodePng(writePng(3, 1, 4, 8, [200, 200, 200, 255, 3, 3, 3, 0, 90, 90, 90, 9]));
    expect(Array.from(ga.data)).toEqual([200, 3, 90]);
  });

  it('keeps 16-bit gray as Uint16 with maxValue 65535', () => {
    const img = decodePng(writePng(2, 1, 0, 16, [1000, 1000, 1000, 65535, 65535, 65535, 65535, 65535]));
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(img.data)).toEqual([1000, 65535]);
    expect(img.maxValue).toBe(65535);
  });

  it('rejects a corrupt PNG with a DataError naming the file', () => {
    const bytes = new Uint8Array(readFileSync(realFile(PNGS[0] as string) ?? new URL(import.meta.url))).slice(0, 60);
    bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(() => decodePng(bytes, 'broken.png')).toThrow(DataError);
    expect(() => decodePng(bytes, 'broken.png')).toThrow(/broken\.png/);
  });
});

describe('decodeJpeg', () => {
  for (const name of JPEGS) {
    itOnRealFile(name, `decodes the real COVID ${name} close to libjpeg (sharp)`, async (path) => {
      const bytes = new Uint8Array(readFileSync(path));
      const img = decodeImage(bytes, name);
      const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
      expect([img.width, img.height]).toEqual([info.width, info.height]);
      let sum = 0;
      let max = 0;
      for (let i = 0; i < img.data.length; i++) {
        const o = i * info.channels;
        const lum = Math.floor(
          (299 * (data[o] as number) + 587 * (data[o + 1] as number) + 114 * (data[o + 2] as number) + 500) / 1000,
        );
        const d = Math.abs((img.data[i] as number) - lum);
        sum += d;
        max = Math.max(max, d);
      }
      // different IDCT and chroma upsampling: small per-pixel differences only
      expect(sum / img.data.length).toBeLessThan(1.5);
      expect(max).toBeLessThan(40);
    });
  }

  it('rejects a truncated JPEG with a DataError', () => {
    expect(() => decodeJpeg(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 2]), 'cut.jpg')).toThrow(DataError);
  });
});
