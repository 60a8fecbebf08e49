import { encode } from 'fast-png';
import type { FitTransform } from '@multichexnet/data';
import { camHeatRgba, type PipelineResult } from '@multichexnet/runtime';

/**
 * The class activation map of a result's most probable finding as an RGBA PNG on the gallery's own picture: the film
 * letterboxed into `display` x `display` by `shown` (the map goes film -> model input through its own fit, so the
 * display fit is composed with it; the letterbox bars stay clear). Null without maps or findings.
 *
 * @example
 * const cam = galleryCamLayer(result, fitTransform(w, h, { size: 256, fit: 'letterbox' }), 256);   // cam?.png
 */
export function galleryCamLayer(
  result: PipelineResult,
  shown: FitTransform,
  display: number,
): { className: string; png: Uint8Array } | null {
  const probabilities = result.probabilities ?? {};
  const className = (result.findings ?? [])
    .filter((f) => result.cams?.[f] !== undefined)
    .sort((a, b) => (probabilities[b] ?? 0) - (probabilities[a] ?? 0))[0];
  if (className === undefined) return null;
  const cam = result.cams![className]!;
  const m = cam.transform;
  // display pixel X -> film x = (X - shown.offsetX) / shown.scaleX -> model input u = m.offsetX + x * m.scaleX
  const onDisplay: FitTransform = {
    width: display,
    height: display,
    scaleX: m.scaleX / shown.scaleX,
    scaleY: m.scaleY / shown.scaleY,
    offsetX: m.offsetX - (shown.offsetX * m.scaleX) / shown.scaleX,
    offsetY: m.offsetY - (shown.offsetY * m.scaleY) / shown.scaleY,
  };
  const rgba = camHeatRgba({ ...cam, transform: onDisplay });
  const x0 = shown.offsetX;
  const y0 = shown.offsetY;
  const x1 = x0 + m.width * shown.scaleX;
  const y1 = y0 + m.height * shown.scaleY;
  for (let y = 0; y < display; y++) {
    for (let x = 0; x < display; x++)
      if (x + 0.5 < x0 || x + 0.5 > x1 || y + 0.5 < y0 || y + 0.5 > y1) rgba[(y * display + x) * 4 + 3] = 0;
  }
  return {
    className,
    png: encode({ width: display, height: display, data: new Uint8Array(rgba.buffer), channels: 4, depth: 8 }),
  };
}
