import type { DecodedImage } from '../codecs/decoded-image';
import { colourFraction } from '../codecs/colour-fraction';
import { MAX_RADIOGRAPH_PIXELS } from '../codecs/assert-radiograph';
import { decodeDicomAsync, type JpegFrameDecoder } from '../codecs/dicom';
import { sniffImageFormat, type ImageDecodeOptions, type ImageDecoder } from '../codecs/decode-image';
import { jpegDeclaredSize, pngDeclaredSize } from '../codecs/header-size';
import { fitTransform } from '../preprocess/fit-sample';

type SharpFn = typeof import('sharp').default;
type Sharp = ReturnType<SharpFn>;

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
    out[i] = Math.floor(
      (299 * (raw[o] as number) + 587 * (raw[o + 1] as number) + 114 * (raw[o + 2] as number) + 500) / 1000,
    );
  }
  return out;
}

async function sharpGray(
  sharp: SharpFn,
  bytes: Uint8Array,
): Promise<{ width: number; height: number; data: Uint8Array; colourFraction?: number }> {
  // libvips' own pixel limit (2^28) is 8x ours: a small, valid PNG of 16000 x 16000 zeros would be decoded in full.
  const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_RADIOGRAPH_PIXELS })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const n = info.width * info.height;
  const gray = { width: info.width, height: info.height, data: toGray(raw, info.channels, n) };
  return info.channels >= 3 ? { ...gray, colourFraction: colourFraction(raw, info.channels, n, 255) } : gray;
}

/**
 * The size `fitImage` resizes a width x height film to under `fit`, when libvips may do that resize instead: only
 * for `area` shrinking (the default preprocessing), where its cubic reduction stays within the tolerance stated in
 * test/node.test.ts of the exact box filter. Null: decode at full size and let `fitImage` resize.
 */
function nativeFitSize(
  width: number,
  height: number,
  fit: ImageDecodeOptions['fit'],
): { width: number; height: number } | null {
  if (fit === undefined || fit.interpolation !== 'area' || fit.fit === 'crop') return null;
  const t = fitTransform(width, height, fit);
  const w = Math.round(width * t.scaleX);
  const h = Math.round(height * t.scaleY);
  return w < width && h < height ? { width: w, height: h } : null;
}

/** libvips' resize for {@link nativeFitSize}: cubic reduction after its integer box shrink, no shrink-on-load. */
function resized(img: Sharp, size: { width: number; height: number }): Sharp {
  return img.resize(size.width, size.height, { fit: 'fill', kernel: 'cubic', fastShrinkOnLoad: false });
}

/** A gray 8- or 16-bit PNG / gray JPEG decoded (and resized when `size` is given) by libvips, one channel out. */
async function sharpMono(
  sharp: SharpFn,
  bytes: Uint8Array,
  sixteen: boolean,
  size: { width: number; height: number } | null,
): Promise<{ width: number; height: number; data: Uint8Array | Uint16Array }> {
  let img = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_RADIOGRAPH_PIXELS });
  if (size !== null) img = resized(img, size);
  const { data, info } = await img
    .toColourspace(sixteen ? 'grey16' : 'b-w')
    .raw(sixteen ? { depth: 'ushort' } : {})
    .toBuffer({ resolveWithObject: true });
  const out = sixteen
    ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { width: info.width, height: info.height, data: out };
}

/**
 * A decoded DICOM image resized by libvips to `size`, or null when its range does not fit 16 bits. Float samples (the
 * display chain's output) go through as 16-bit integers.
 */
async function resizeDecoded(
  sharp: SharpFn,
  image: DecodedImage,
  size: { width: number; height: number },
): Promise<DecodedImage | null> {
  if (!(image.maxValue <= 65535)) return null;
  const eight = image.data instanceof Uint8Array;
  // (only a fractional rescale gives floats; a typed-array copy truncates them by less than one level)
  const samples = eight || image.data instanceof Uint16Array ? image.data : new Uint16Array(image.data);
  const input = sharp(samples, { raw: { width: image.width, height: image.height, channels: 1 } });
  // one band in, one band out: libvips' default sRGB output would make three
  const out = await resized(input, size)
    .toColourspace(eight ? 'b-w' : 'grey16')
    .raw(eight ? {} : { depth: 'ushort' })
    .toBuffer();
  const bytes = out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  return {
    width: size.width,
    height: size.height,
    data: eight ? new Uint8Array(bytes) : new Uint16Array(bytes),
    maxValue: image.maxValue,
    originalSize: { width: image.width, height: image.height },
  };
}

/**
 * An {@link ImageDecoder} on sharp (libvips: libspng and libjpeg-turbo), which decodes on libuv worker threads,
 * off the JavaScript thread, and several times faster than the pure-JS decoders (see bench/sections/data-loader.mjs
 * and bench/sections/film-inference.mjs). Handles 8- and 16-bit PNG, JPEG, and every DICOM (the tags, codecs,
 * LUTs and MONOCHROME1 go through the same code as `decodeDicomAsync`, JPEG Baseline frames through libjpeg-turbo).
 * With `options.fit` (what the model needs, `area` shrinking) it returns the image already resized to the fitted
 * size, `originalSize` set: one native pass instead of a full-size decode plus a JavaScript resize.
 * Returns null for what it leaves to the pure-JS path (palette PNGs, 16-bit colour PNGs, files libvips rejects),
 * so that path says what is wrong with a corrupt file. PNG pixels at full size are identical to the pure-JS path;
 * JPEG pixels may differ by one grey level (IDCT rounding). Resolves to null when sharp cannot be loaded.
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
      const { image, meta } = await decodeDicomAsync(bytes, file, options, jpegFrame);
      const size = nativeFitSize(image.width, image.height, options.fit);
      return { image: (size === null ? null : await resizeDecoded(sharp, image, size)) ?? image, dicom: meta };
    }
    if (format !== 'png' && format !== 'jpeg') return null;
    const declared = format === 'png' ? pngDeclaredSize(bytes) : jpegDeclaredSize(bytes);
    // PNG IHDR: bit depth at byte 24, colour type at 25 (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA)
    const depth = format === 'png' ? (bytes[24] as number) : 8;
    const colourType = format === 'png' ? (bytes[25] as number) : -1;
    if (colourType === 3 || (depth === 16 && colourType !== 0) || (depth !== 8 && depth !== 16)) return null;
    try {
      // one-channel sources resize natively; colour ones decode at full size, where their colour is measured
      const mono =
        format === 'png'
          ? colourType === 0
          : bytes.length > 0 &&
            (await sharp(bytes, { limitInputPixels: MAX_RADIOGRAPH_PIXELS }).metadata()).channels === 1;
      if (mono) {
        const size = declared === null ? null : nativeFitSize(declared.width, declared.height, options.fit);
        const { width, height, data } = await sharpMono(sharp, bytes, depth === 16, size);
        const image: DecodedImage = { width, height, data, maxValue: depth === 16 ? 65535 : 255 };
        if (size !== null && declared !== null) image.originalSize = declared;
        return { image };
      }
      const { width, height, data, colourFraction: colour } = await sharpGray(sharp, bytes);
      const image: DecodedImage = {
        width,
        height,
        data,
        maxValue: 255,
        ...(colour !== undefined ? { colourFraction: colour } : {}),
      };
      return { image };
    } catch {
      // let the pure-JS decoder produce the proper DataError for a corrupt file
      return null;
    }
  };
}
