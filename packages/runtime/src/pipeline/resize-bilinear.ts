/**
 * Samples the window [x0, x0 + w) x [y0, y0 + h) of `src` (srcW wide, row-major) at the centres of a dstW x dstH
 * grid with bilinear interpolation, half-pixel centres, clamped at the window's border. Used to bring the mask
 * probabilities from the model input back onto the original image (data's preprocessing has the forward fit
 * only). Hand-written: 20 lines, runs in browsers and Node alike without a canvas.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  srcW: number,
  window: { x0: number; y0: number; w: number; h: number },
  dstW: number,
  dstH: number,
  out: Float32Array = new Float32Array(dstW * dstH),
): Float32Array {
  const { x0: ox, y0: oy, w, h } = window;
  const sx = w / dstW;
  const sy = h / dstH;
  for (let y = 0; y < dstH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    for (let x = 0; x < dstW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      const top = src[(oy + y0) * srcW + ox + x0]! * (1 - wx) + src[(oy + y0) * srcW + ox + x1]! * wx;
      const bottom = src[(oy + y1) * srcW + ox + x0]! * (1 - wx) + src[(oy + y1) * srcW + ox + x1]! * wx;
      out[y * dstW + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}
