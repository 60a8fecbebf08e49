import type { DecodedImage } from '../codecs/decoded-image';
import { colourFraction } from '../codecs/colour-fraction';
import { MAX_RADIOGRAPH_PIXELS } from '../codecs/assert-radiograph';
import { decodeDicomAsync, type JpegFrameDecoder } from '../codecs/dicom';
import { sniffImageFormat } from '../codecs/decode-image';
import type { ImageDecoder } from '../datasets/dataset';

type SharpFn = typeof import('sharp').default;

/**
 * 8-bit samples → gray with the same rule as the pure-JS decoders (first channel of gray / gray+alpha,
 * Rec. 601 luminance of RGB / RGBA), so both paths give the same pixels for lossless inputs.
 */
function toGray(raw: Uint8Array, channels: number, n: number): Uint8Array {
  if (channels === 1) return raw;
  const out = new Uint8Array(n);
  if (channels === 2) {
    for (let i = 0; i < n; i++) out[i] = raw[i * 2] as number;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    out[i] = Math.floor((299 * (raw[o] as number) + 587 * (raw[o + 1] as number) + 114 * (raw[o + 2] as number) + 500) / 1000);
  }
  return out;
}

async function sharpGray(sharp: SharpFn, bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8Array; colourFraction?: number }> {
  // libvips' own pixel limit (2^28) is 8x ours: a small, valid PNG of 16000 x 16000 zeros would be decoded in full.
  const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_RADIOGRAPH_PIXELS }).raw().toBuffer({ resolveWithObject: true });
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const n = info.width * info.height;
  const gray = { width: info.width, height: info.height, data: toGray(raw, info.channels, n) };
  return info.channels >= 3 ? { ...gray, colourFraction: colourFraction(raw, info.channels, n, 255) } : gray;
}

/**
 * An {@link ImageDecoder} on sharp (libvips: libspng and libjpeg-turbo), which decodes on libuv worker threads,
 * off the JavaScript thread, and 4-10x faster than the pure-JS decoders (see bench/sections/data-loader.mjs).
 * Handles 8-bit PNG, JPEG, and DICOM JPEG Baseline frames (the DICOM tags, LUTs and MONOCHROME1 go through
 * the same code as `decodeDicom`); returns null for everything else (16-bit PNG, native DICOM: already fast),
 * which then takes the pure-JS path. PNG pixels are identical to the pure-JS path; JPEG pixels may differ by
 * one grey level (different IDCT rounding). Resolves to null when sharp cannot be loaded.
 *
 * @example
 * const decoder = await createSharpDecoder();
 * const rsna = await openRsna({ root: '/data/rsna', decoder: decoder ?? undefined });
 */
export async function createSharpDecoder(): Promise<ImageDecoder | null> {
  let sharp: SharpFn;
  try {
    sharp = (await import('sharp')).default;
  } catch {
    return null;
  }
  const jpegFrame: JpegFrameDecoder = async (frame) => (await sharpGray(sharp, frame)).data;
  return async (bytes, file, options) => {
    const format = sniffImageFormat(bytes, file);
    if (format === 'dicom') {
      // only the encapsulated JPEG path gains; let native files take the (fast) pure-JS route
      const isJpeg = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 1024))).includes('1.2.840.10008.1.2.4.50');
      if (!isJpeg) return null;
      const { image, meta } = await decodeDicomAsync(bytes, file, options, jpegFrame);
      return { image, dicom: meta };
    }
    if (format === 'png' && (bytes[24] !== 8 || bytes[25] === 3)) return null; // 16-bit or palette: pure JS
    if (format !== 'png' && format !== 'jpeg') return null;
    try {
      const { width, height, data, colourFraction: colour } = await sharpGray(sharp, bytes);
      const image: DecodedImage = { width, height, data, maxValue: 255, ...(colour !== undefined ? { colourFraction: colour } : {}) };
      return { image };
    } catch {
      // let the pure-JS decoder produce the proper DataError for a corrupt file
      return null;
    }
  };
}
