import { PNG } from 'pngjs';

/*
 * Image file encoders for the synthetic films. PNG: pngjs (pure JS, already the package's PNG codec).
 * JPEG: sharp (libjpeg-turbo), because the real RSNA/SIIM DICOMs hold a ONE-component baseline JPEG
 * (SOF0, 8 bit) and jpeg-js can only encode three-component YCbCr JPEGs. sharp is loaded lazily so that
 * importing the package in a browser never touches it.
 */

/** 8-bit gray image [H, W] row-major -> PNG bytes (colour type 0, bit depth 8, like the NIH files). */
export function encodePngGray(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, deflateLevel: 6 }));
}

/**
 * 8-bit gray image [H, W] row-major -> baseline JPEG bytes. `channels` 1 writes a single-component (gray)
 * JPEG as in DICOM JPEG Baseline; 3 writes an sRGB JPEG with equal channels, as many web-collected images are.
 */
export async function encodeJpeg(pixels: Uint8Array, width: number, height: number, quality: number, channels: 1 | 3 = 1): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp');
  const img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels: 1 } });
  const out = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  return new Uint8Array(await out.jpeg({ quality, progressive: false, chromaSubsampling: '4:4:4' }).toBuffer());
}
