import { encode } from 'fast-png';
import { DataError, writeFileAtomic, type BinaryMask, type GrayImage, type ScoredBox } from '@multichexnet/core/base';

/**
 * The film's gray levels as display values 0..255 (`maxValue` shown as white; default: the image's maximum), for
 * the overlays drawn over it; refuses pixel data that does not match the image's size.
 */
export function displayGray(image: GrayImage, maxValue?: number): (i: number) => number {
  const { width, height, data } = image;
  if (data.length !== width * height) {
    throw new DataError('Image data does not match its size', {
      field: 'image',
      expected: `${width * height} values`,
      found: `${data.length}`,
    });
  }
  let max = maxValue ?? 0;
  if (maxValue === undefined) for (let i = 0; i < data.length; i++) max = Math.max(max, data[i]!);
  const scale = max > 0 ? 255 / max : 0;
  return (i) => Math.min(255, Math.max(0, data[i]! * scale));
}

/** Colours and strengths of {@link renderOverlayPng}. */
export interface OverlayOptions {
  /** RGB of the mask tint (default red). */
  maskColor?: [number, number, number];
  /** Opacity of the mask tint, 0..1 (default 0.4). */
  maskOpacity?: number;
  /** RGB of the box outlines (default yellow). */
  boxColor?: [number, number, number];
  /** Outline thickness in pixels (default: 1 per 256 px of the shorter side, at least 1). */
  lineWidth?: number;
  /** Pixel value shown as white (default: the image's maximum). */
  maxValue?: number;
}

/**
 * An RGB PNG [H, W, 3] of the image with the predicted mask tinted over it and the boxes outlined, at the image's
 * own size (pipeline results are in original pixels). Runs anywhere (fast-png); `writeOverlayPng` saves it.
 *
 * @example
 * const png = renderOverlayPng(image, result);   // Uint8Array, a PNG file's bytes
 */
export function renderOverlayPng(
  image: GrayImage,
  result: { boxes?: readonly ScoredBox[]; mask?: BinaryMask | null },
  options: OverlayOptions = {},
): Uint8Array {
  const { width, height } = image;
  const gray = displayGray(image, options.maxValue);
  const mask = result.mask ?? null;
  const boxes = result.boxes ?? [];
  if (mask !== null && (mask.width !== width || mask.height !== height)) {
    throw new DataError('Mask size differs from the image', {
      field: 'mask',
      expected: `${width} x ${height}`,
      found: `${mask.width} x ${mask.height}`,
    });
  }
  const [mr, mg, mb] = options.maskColor ?? [255, 40, 40];
  const alpha = options.maskOpacity ?? 0.4;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const g = gray(i);
    const on = mask !== null && mask.data[i] !== 0;
    rgb[i * 3] = on ? g * (1 - alpha) + mr * alpha : g;
    rgb[i * 3 + 1] = on ? g * (1 - alpha) + mg * alpha : g;
    rgb[i * 3 + 2] = on ? g * (1 - alpha) + mb * alpha : g;
  }
  const [br, bg, bb] = options.boxColor ?? [255, 220, 0];
  const lw = options.lineWidth ?? Math.max(1, Math.round(Math.min(width, height) / 256));
  const paint = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const o = (y * width + x) * 3;
    rgb[o] = br;
    rgb[o + 1] = bg;
    rgb[o + 2] = bb;
  };
  for (const b of boxes) {
    const x0 = Math.round(b.x);
    const y0 = Math.round(b.y);
    const x1 = Math.round(b.x + b.width) - 1;
    const y1 = Math.round(b.y + b.height) - 1;
    for (let k = 0; k < lw; k++) {
      for (let x = x0; x <= x1; x++) {
        paint(x, y0 + k);
        paint(x, y1 - k);
      }
      for (let y = y0; y <= y1; y++) {
        paint(x0 + k, y);
        paint(x1 - k, y);
      }
    }
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** {@link renderOverlayPng} written to `path` atomically. Node only. */
export async function writeOverlayPng(
  path: string,
  image: GrayImage,
  result: { boxes?: readonly ScoredBox[]; mask?: BinaryMask | null },
  options: OverlayOptions = {},
): Promise<void> {
  await writeFileAtomic(path, renderOverlayPng(image, result, options));
}
