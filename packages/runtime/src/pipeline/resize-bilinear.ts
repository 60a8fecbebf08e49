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
  // the column taps are the same on every row: computed once (a full-size film has millions of pixels)
  const cx0 = new Int32Array(dstW);
  const cx1 = new Int32Array(dstW);
  const cwx = new Float64Array(dstW);
  for (let x = 0; x < dstW; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    const x0 = Math.floor(fx);
    cx0[x] = ox + x0;
    cx1[x] = ox + Math.min(x0 + 1, w - 1);
    cwx[x] = fx - x0;
  }
  for (let y = 0; y < dstH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    const r0 = (oy + y0) * srcW;
    const r1 = (oy + y1) * srcW;
    for (let x = 0; x < dstW; x++) {
      const wx = cwx[x]!;
      const a = cx0[x]!;
      const b = cx1[x]!;
      const top = src[r0 + a]! * (1 - wx) + src[r0 + b]! * wx;
      const bottom = src[r1 + a]! * (1 - wx) + src[r1 + b]! * wx;
      out[y * dstW + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}
