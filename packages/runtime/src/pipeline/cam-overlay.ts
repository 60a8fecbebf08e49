import { encode } from 'fast-png';
import { DataError, writeFileAtomic, type GrayImage } from '@multichexnet/core/base';
import { camHeatRgba, type ClassActivationMap } from './cam';
import { displayGray } from './overlay-png';

/** Strength and scaling of {@link renderCamOverlayPng}. */
export interface CamOverlayOptions {
  /** Opacity of the heat layer at the map's peak, 0..1 (default 0.6). */
  opacity?: number;
  /** Pixel value shown as white (default: the image's maximum). */
  maxValue?: number;
}

/**
 * An RGB PNG [H, W, 3] of the film with one class activation map blended over it at the film's own size (the map
 * goes back through the fit: letterbox padding drops out). Runs anywhere (fast-png); `writeCamOverlayPng` saves it.
 *
 * @example
 * const png = renderCamOverlayPng(image, result.cams!.Mass);   // Uint8Array, a PNG file's bytes
 */
export function renderCamOverlayPng(
  image: GrayImage,
  cam: ClassActivationMap,
  options: CamOverlayOptions = {},
): Uint8Array {
  const { width, height } = image;
  const gray = displayGray(image, options.maxValue);
  if (cam.transform.width !== width || cam.transform.height !== height) {
    throw new DataError('Class activation map belongs to another image size', {
      field: `cams.${cam.className}`,
      expected: `${width} x ${height}`,
      found: `${cam.transform.width} x ${cam.transform.height}`,
    });
  }
  const opacity = options.opacity ?? 0.6;
  const heat = camHeatRgba(cam);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const g = gray(i);
    const a = (heat[i * 4 + 3]! / 255) * opacity;
    for (let ch = 0; ch < 3; ch++) rgb[i * 3 + ch] = g * (1 - a) + heat[i * 4 + ch]! * a;
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** {@link renderCamOverlayPng} written to `path` atomically. Node only. */
export async function writeCamOverlayPng(
  path: string,
  image: GrayImage,
  cam: ClassActivationMap,
  options: CamOverlayOptions = {},
): Promise<void> {
  await writeFileAtomic(path, renderCamOverlayPng(image, cam, options));
}
