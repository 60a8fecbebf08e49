import { DataError } from '@multichexnet/core/base';
import { MAX_RADIOGRAPH_PIXELS } from './assert-radiograph';

/*
 * The image size a PNG or JPEG header declares, read before decoding. The decoders allocate their output from
 * these numbers; a damaged or hostile header declaring 65535 x 65535 pixels would have them allocate gigabytes
 * before finding out that the data is not there. Hand-written: a few bytes of two fixed layouts (PNG IHDR,
 * JPEG SOFn), which neither decoding library exposes without decoding.
 */

/** Width and height declared by a PNG's IHDR chunk, or null when the header is too damaged to say. */
export function pngDeclaredSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/** Width and height declared by a JPEG 2000 codestream's SIZ segment (image area less its offset), or null. */
export function j2kDeclaredSize(bytes: Uint8Array): { width: number; height: number } | null {
  // SOC (FF4F), then SIZ (FF51): Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz
  if (bytes.length < 24 || bytes[0] !== 0xff || bytes[1] !== 0x4f || bytes[2] !== 0xff || bytes[3] !== 0x51)
    return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: dv.getUint32(8) - dv.getUint32(16), height: dv.getUint32(12) - dv.getUint32(20) };
}

/** Width and height declared by a JPEG's (or JPEG-LS's) first SOFn segment, or null when none is reached. */
export function jpegDeclaredSize(bytes: Uint8Array): { width: number; height: number } | null {
  let o = 2;
  while (o + 9 <= bytes.length) {
    if (bytes[o] !== 0xff) return null;
    const marker = bytes[o + 1] as number;
    if (marker === 0xff) {
      o++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2;
      continue;
    }
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC); SOF55 (F7) of JPEG-LS has the same layout
    if (
      (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) ||
      marker === 0xf7
    ) {
      return {
        height: ((bytes[o + 5] as number) << 8) | (bytes[o + 6] as number),
        width: ((bytes[o + 7] as number) << 8) | (bytes[o + 8] as number),
      };
    }
    if (marker === 0xda || marker === 0xd9) return null;
    o += 2 + (((bytes[o + 2] as number) << 8) | (bytes[o + 3] as number));
  }
  return null;
}

/** Throws a {@link DataError} when a declared size exceeds what a chest X-ray can have. */
export function assertDeclaredSize(size: { width: number; height: number } | null, file: string, what: string): void {
  if (size !== null && size.width * size.height > MAX_RADIOGRAPH_PIXELS) {
    throw new DataError(`${what} header declares an image too large to decode`, {
      file,
      field: 'width x height',
      expected: `at most ${MAX_RADIOGRAPH_PIXELS} pixels`,
      found: `${size.width} x ${size.height}`,
    });
  }
}
