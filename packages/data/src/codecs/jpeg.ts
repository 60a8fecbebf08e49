import { DataError } from '@multichexnet/core/base';
import jpeg from 'jpeg-js';
import type { DecodedImage } from './decoded-image';
import { colourFraction } from './colour-fraction';
import { MAX_RADIOGRAPH_PIXELS } from './assert-radiograph';
import { assertDeclaredSize, jpegDeclaredSize } from './header-size';

/** A JPEG's samples as jpeg-js returns them: `data` interleaves its components (gray ones replicated in R, G, B). */
export interface JpegPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** jpeg-js within the radiograph size limits (no RGBA expansion); throws what jpeg-js throws. */
export function decodeJpegPixels(bytes: Uint8Array): JpegPixels {
  return jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    maxMemoryUsageInMB: 1024,
    maxResolutionInMP: MAX_RADIOGRAPH_PIXELS / 1e6,
  });
}

/**
 * Baseline/progressive 8-bit JPEG bytes → gray image [H, W], row-major, Uint8 0..255.
 *
 * Colour JPEGs (the COVID-19 collection stores many X-rays as RGB) become luminance, Rec. 601 weights.
 *
 * @example
 * const img = decodeJpeg(bytes, '16747_3_1.jpg'); // { width: 1036, height: 885, data: Uint8Array, maxValue: 255 }
 */
export function decodeJpeg(bytes: Uint8Array, file = '(jpeg)'): DecodedImage {
  assertDeclaredSize(jpegDeclaredSize(bytes), file, 'JPEG');
  let raw: JpegPixels;
  try {
    raw = decodeJpegPixels(bytes);
  } catch (err) {
    throw new DataError(
      'JPEG cannot be decoded',
      {
        file,
        expected: 'an 8-bit baseline or progressive JPEG',
        found: String(err instanceof Error ? err.message : err),
      },
      { cause: err },
    );
  }
  const { width, height } = raw;
  const n = width * height;
  const channels = raw.data.length / n;
  if (channels === 1) return { width, height, data: raw.data, maxValue: 255 };
  if (channels !== 3 && channels !== 4) {
    throw new DataError('JPEG has an unsupported number of components', {
      file,
      expected: '1 or 3',
      found: String(channels),
    });
  }
  const src = raw.data;
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    data[i] = Math.floor(
      (299 * (src[o] as number) + 587 * (src[o + 1] as number) + 114 * (src[o + 2] as number) + 500) / 1000,
    );
  }
  return { width, height, data, maxValue: 255, colourFraction: colourFraction(src, channels, n, 255) };
}
