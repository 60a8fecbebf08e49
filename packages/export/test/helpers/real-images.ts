import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { DecodedImage } from '@multichexnet/data';

/** `<repoRoot>/../shared/realdata`, where the real test images live (never copied into the repo). */
export const REALDATA_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  '..',
  'shared',
  'realdata',
);

/** The real chest X-rays used for parity: two NIH PNGs and two COVID-collection JPEGs. */
export const REAL_IMAGES = [
  '00000001_000.png',
  '00027426_000.png',
  '16747_3_1.jpg',
  'covid-19-pneumonia-58-prior.jpg',
] as const;

/** Whether the real images are present (tests skip with a message otherwise). */
export function realImagesAvailable(): boolean {
  return REAL_IMAGES.every((f) => existsSync(join(REALDATA_DIR, f)));
}

/** Decodes one real image to gray (PNG via pngjs, JPEG via jpeg-js; colour JPEGs by their luma). */
export function readRealImage(name: string): DecodedImage {
  const bytes = readFileSync(join(REALDATA_DIR, name));
  if (name.endsWith('.png')) {
    const png = PNG.sync.read(bytes);
    const data = new Uint8Array(png.width * png.height);
    for (let i = 0; i < data.length; i++) data[i] = png.data[i * 4]!;
    return { width: png.width, height: png.height, data, maxValue: 255 };
  }
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  const data = new Uint8Array(img.width * img.height);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.round(0.299 * img.data[i * 4]! + 0.587 * img.data[i * 4 + 1]! + 0.114 * img.data[i * 4 + 2]!);
  }
  return { width: img.width, height: img.height, data, maxValue: 255 };
}
