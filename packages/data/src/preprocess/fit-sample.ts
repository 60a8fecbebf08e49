import { DataError, type BinaryMask } from '@multichexnet/core/base';
import type { DecodedImage } from '../codecs/decoded-image';
import type { LabeledBox } from '../datasets/sample';
import type { PreprocessConfig } from './config';
import { resample } from './resample';

/** How original image pixels map to the size x size model input: x' = x * scaleX + offsetX. */
export interface FitTransform {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
  /** Original image size. */
  width: number;
  height: number;
}

/**
 * A sample resized (and letterboxed) to size x size, before augmentation and normalisation: what the batch
 * stream caches. Intensities are stored quantised: `image[i] / imageScale` is in [0, 1].
 */
export interface FittedSample {
  size: number;
  /** Image [S, S], row-major; Uint8 for 8-bit sources (as PIL would keep them), Uint16 otherwise. */
  image: Uint8Array | Uint16Array;
  imageScale: 255 | 65535;
  /** Mask [S, S], row-major, 1 = foreground. */
  mask?: Uint8Array;
  /** Boxes in S x S pixels. */
  boxes?: LabeledBox[];
  transform: FitTransform;
}

/** The transform of {@link fitImage} for an image of the given size. */
export function fitTransform(
  width: number,
  height: number,
  config: Pick<PreprocessConfig, 'size' | 'fit' | 'crop'>,
): FitTransform {
  const S = config.size;
  if (config.fit === 'stretch') return { scaleX: S / width, scaleY: S / height, offsetX: 0, offsetY: 0, width, height };
  if (config.fit === 'crop') {
    const { x0, y0, side } = cropSquare(width, height, config.crop ?? 1);
    const s = S / side;
    return { scaleX: s, scaleY: s, offsetX: -x0 * s, offsetY: -y0 * s, width, height };
  }
  const s = S / Math.max(width, height);
  const w = Math.max(1, Math.round(width * s));
  const h = Math.max(1, Math.round(height * s));
  return {
    scaleX: w / width,
    scaleY: h / height,
    offsetX: Math.floor((S - w) / 2),
    offsetY: Math.floor((S - h) / 2),
    width,
    height,
  };
}

/** The centred square of the `crop` fit: side `crop` x the shorter side (whole pixels), top-left rounded down. */
function cropSquare(width: number, height: number, crop: number): { x0: number; y0: number; side: number } {
  const side = Math.max(1, Math.round(crop * Math.min(width, height)));
  return { x0: Math.floor((width - side) / 2), y0: Math.floor((height - side) / 2), side };
}

/** The crop fit's source square of a row-major image, as Float32 (resample's input type). */
function cropPixels(
  data: ArrayLike<number>,
  width: number,
  height: number,
  crop: number,
): { data: Float32Array; side: number } {
  const { x0, y0, side } = cropSquare(width, height, crop);
  const out = new Float32Array(side * side);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) out[y * side + x] = data[(y + y0) * width + x0 + x] as number;
  return { data: out, side };
}

function place(src: Float32Array, w: number, h: number, t: FitTransform, S: number): Float32Array {
  if (w === S && h === S) return src;
  const out = new Float32Array(S * S);
  for (let y = 0; y < h; y++) out.set(src.subarray(y * w, y * w + w), (y + t.offsetY) * S + t.offsetX);
  return out;
}

/**
 * Gray image [H, W] → image [S, S] in [0, 1] (Float32), resized per `config.fit` and `config.interpolation`.
 *
 * @example
 * const x = fitImage(await decodeImage(bytes), resolvePreprocessConfig({ size: 256 })); // Float32Array(65536)
 */
export function fitImage(
  image: DecodedImage,
  config: Pick<PreprocessConfig, 'size' | 'fit' | 'interpolation' | 'crop'>,
): { data: Float32Array; transform: FitTransform } {
  const S = config.size;
  const crop = config.fit === 'crop';
  const original = image.originalSize ?? image;
  const t = fitTransform(original.width, original.height, config);
  const w = crop ? S : Math.round(original.width * t.scaleX);
  const h = crop ? S : Math.round(original.height * t.scaleY);
  if (image.originalSize !== undefined && (crop || image.width !== w || image.height !== h)) {
    throw new DataError('Image was resized by its decoder for another fit', {
      field: 'image.originalSize',
      expected: `${w} x ${h} for ${original.width} x ${original.height} at size ${S} (${config.fit})`,
      found: `${image.width} x ${image.height}`,
    });
  }
  let r: Float32Array;
  if (image.originalSize !== undefined) {
    // an image its decoder already resized for this fit is only copied
    r = Float32Array.from(image.data);
  } else if (crop) {
    const src = cropPixels(image.data, image.width, image.height, config.crop ?? 1);
    r = resample(src.data, src.side, src.side, S, S, config.interpolation);
  } else {
    r = resample(image.data, image.width, image.height, w, h, config.interpolation);
  }
  const inv = 1 / image.maxValue;
  for (let i = 0; i < r.length; i++) {
    const v = (r[i] as number) * inv;
    // NaN survives clamping; a NaN pixel is a corrupt image, not something to feed a network
    if (Number.isNaN(v))
      throw new DataError('Image has NaN pixels', { field: 'image', expected: 'finite values', found: 'NaN' });
    r[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { data: place(r, w, h, t, S), transform: t };
}

/** Mask [H, W] → mask [S, S]: area-average then threshold at 0.5 when shrinking (keeps thin structures fair). */
export function fitMask(
  mask: BinaryMask,
  t: FitTransform,
  config: Pick<PreprocessConfig, 'size'> & Partial<Pick<PreprocessConfig, 'fit' | 'crop'>>,
): Uint8Array {
  const S = config.size;
  let r: Float32Array;
  if (config.fit === 'crop') {
    const src = cropPixels(mask.data, mask.width, mask.height, config.crop ?? 1);
    r = resample(src.data, src.side, src.side, S, S, 'area');
  } else {
    const w = Math.round(mask.width * t.scaleX);
    const h = Math.round(mask.height * t.scaleY);
    r = place(resample(mask.data, mask.width, mask.height, w, h, 'area'), w, h, t, S);
  }
  const out = new Uint8Array(S * S);
  for (let i = 0; i < out.length; i++) out[i] = (r[i] as number) >= 0.5 ? 1 : 0;
  return out;
}

/** Boxes in original pixels → boxes in S x S pixels. */
export function fitBoxes<B extends LabeledBox>(boxes: readonly B[], t: FitTransform): B[] {
  return boxes.map((b) => ({
    ...b,
    x: b.x * t.scaleX + t.offsetX,
    y: b.y * t.scaleY + t.offsetY,
    width: b.width * t.scaleX,
    height: b.height * t.scaleY,
  }));
}

/**
 * Boxes in model-input pixels → boxes in original image pixels (the inverse of the fit), e.g. to draw
 * predictions on the user's image.
 *
 * @example
 * const onOriginal = unfitBoxes(predicted, fitted.transform);
 */
export function unfitBoxes<B extends { x: number; y: number; width: number; height: number }>(
  boxes: readonly B[],
  t: FitTransform,
): B[] {
  return boxes.map((b) => ({
    ...b,
    x: (b.x - t.offsetX) / t.scaleX,
    y: (b.y - t.offsetY) / t.scaleY,
    width: b.width / t.scaleX,
    height: b.height / t.scaleY,
  }));
}

/** Sample parts → {@link FittedSample} (quantised for the cache). */
export function fitSample(
  sample: { image: DecodedImage; mask?: BinaryMask; boxes?: LabeledBox[] },
  config: Pick<PreprocessConfig, 'size' | 'fit' | 'interpolation' | 'crop'>,
): FittedSample {
  const { data, transform } = fitImage(sample.image, config);
  const eight = sample.image.maxValue === 255;
  const imageScale = eight ? 255 : 65535;
  const image = eight ? new Uint8Array(data.length) : new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) image[i] = Math.round((data[i] as number) * imageScale);
  const out: FittedSample = { size: config.size, image, imageScale, transform };
  if (sample.mask !== undefined) out.mask = fitMask(sample.mask, transform, config);
  if (sample.boxes !== undefined) out.boxes = fitBoxes(sample.boxes, transform);
  return out;
}
