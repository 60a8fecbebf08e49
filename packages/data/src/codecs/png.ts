import { DataError } from '@multichexnet/core/base';
import { decode as decodePngBytes, convertIndexedToRgb } from 'fast-png';
import type { DecodedImage } from './decoded-image';
import { colourFraction } from './colour-fraction';
import { assertDeclaredSize, pngDeclaredSize } from './header-size';

/*
 * fast-png rather than pngjs: pngjs needs Node's Buffer, zlib and streams, while fast-png is plain ESM on
 * fflate and runs unchanged in the browser demo.
 */

/**
 * PNG bytes → gray image [H, W], row-major, 8- or 16-bit as stored.
 *
 * Gray and gray+alpha PNGs keep their first channel; RGB, RGBA and palette PNGs become luminance
 * (Rec. 601 weights, exact for gray pixels stored as RGB, as in the ~519 RGBA images of ChestX-ray14).
 *
 * @example
 * const img = decodePng(bytes, '00000001_000.png'); // { width: 1024, height: 1024, data: Uint8Array, maxValue: 255 }
 */
export function decodePng(bytes: Uint8Array, file = '(png)'): DecodedImage {
  assertDeclaredSize(pngDeclaredSize(bytes), file, 'PNG');
  let png;
  try {
    png = decodePngBytes(bytes);
  } catch (err) {
    throw new DataError('PNG cannot be decoded', { file, expected: 'a valid PNG', found: String(err) }, { cause: err });
  }
  const { width, height } = png;
  let channels = png.channels;
  let depth: number = png.depth;
  let src: ArrayLike<number> = png.data;
  if (png.palette !== undefined) {
    src = convertIndexedToRgb(png);
    channels = src.length / (width * height);
    depth = 8;
  } else if (depth < 8) {
    src = unpackBits(png.data as Uint8Array, width, height, depth);
  }
  const n = width * height;
  const data = depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  const maxValue = depth === 16 ? 65535 : depth === 8 ? 255 : 2 ** depth - 1;
  if (channels <= 2) {
    for (let i = 0; i < n; i++) data[i] = src[i * channels] as number;
    return { width, height, data, maxValue };
  }
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    data[i] = Math.floor(
      (299 * (src[o] as number) + 587 * (src[o + 1] as number) + 114 * (src[o + 2] as number) + 500) / 1000,
    );
  }
  return { width, height, data, maxValue, colourFraction: colourFraction(src, channels, n, maxValue) };
}

/** Unpacks 1/2/4-bit gray rows (each row starts on a byte boundary) to one byte per pixel. */
function unpackBits(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  if (packed.length === width * height) return packed;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)] as number;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}
