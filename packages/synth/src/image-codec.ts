import { encode } from 'fast-png';

/*
 * Image file encoders for the synthetic films. PNG: fast-png (plain ESM, the package's PNG codec; pngjs would
 * pull Node's Buffer and zlib into the browser-safe entry).
 * JPEG: sharp (libjpeg-turbo), because the real RSNA/SIIM DICOMs hold a ONE-component baseline JPEG
 * (SOF0, 8 bit) and jpeg-js can only encode three-component YCbCr JPEGs. sharp is loaded lazily so that
 * importing the package in a browser never touches it.
 */

/** 8-bit gray image [H, W] row-major -> PNG bytes (colour type 0, bit depth 8, like the NIH files). */
export function encodePngGray(pixels: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: pixels, channels: 1, depth: 8 }, { zlib: { level: 6 } });
}

/**
 * 8-bit gray image [H, W] row-major -> baseline JPEG bytes. `channels` 1 writes a single-component (gray)
 * JPEG as in DICOM JPEG Baseline; 3 writes an sRGB JPEG with equal channels, as many web-collected images are.
 */
export async function encodeJpeg(
  pixels: Uint8Array,
  width: number,
  height: number,
  quality: number,
  channels: 1 | 3 = 1,
): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp');
  const img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels: 1 },
  });
  const out = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  return new Uint8Array(await out.jpeg({ quality, progressive: false, chromaSubsampling: '4:4:4' }).toBuffer());
}
