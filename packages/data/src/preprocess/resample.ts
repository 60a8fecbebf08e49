/*
 * Separable resampling of single-channel images. Hand-written: the pure-JS path must run in browsers and in
 * Node without native modules, and the operation is two small weight tables plus two passes.
 */

/** Per-output-pixel source taps along one axis: taps of output i are [start[i], start[i] + count[i]). */
interface AxisTaps {
  start: Int32Array;
  count: Int32Array;
  /** Flat weights, `maxTaps` per output pixel. */
  weights: Float32Array;
  maxTaps: number;
}

/**
 * Weights along one axis. Area: each output pixel averages the source interval it covers (exact fractional
 * coverage); used only when shrinking, since for enlarging it degenerates to nearest neighbour and bilinear
 * is the better filter. Bilinear: half-pixel centres, edge clamped.
 */
function axisTaps(inSize: number, outSize: number, method: 'area' | 'bilinear'): AxisTaps {
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const ratio = inSize / outSize;
  if (method === 'area' && ratio > 1) {
    const maxTaps = Math.ceil(ratio) + 1;
    const weights = new Float32Array(outSize * maxTaps);
    for (let o = 0; o < outSize; o++) {
      const a = o * ratio;
      const b = Math.min(inSize, (o + 1) * ratio);
      const s = Math.floor(a);
      const e = Math.min(inSize, Math.ceil(b));
      start[o] = s;
      count[o] = e - s;
      for (let k = s; k < e; k++) {
        const cover = Math.min(b, k + 1) - Math.max(a, k);
        weights[o * maxTaps + (k - s)] = cover / (b - a);
      }
    }
    return { start, count, weights, maxTaps };
  }
  const weights = new Float32Array(outSize * 2);
  for (let o = 0; o < outSize; o++) {
    let src = (o + 0.5) * ratio - 0.5;
    if (src < 0) src = 0;
    if (src > inSize - 1) src = inSize - 1;
    const s = Math.floor(src);
    const f = src - s;
    start[o] = s;
    if (s + 1 < inSize && f > 0) {
      count[o] = 2;
      weights[o * 2] = 1 - f;
      weights[o * 2 + 1] = f;
    } else {
      count[o] = 1;
      weights[o * 2] = 1;
    }
  }
  return { start, count, weights, maxTaps: 2 };
}

/**
 * Image [h, w] → image [outH, outW], row-major, Float32 in the same value units.
 */
export function resample(
  src: ArrayLike<number>,
  w: number,
  h: number,
  outW: number,
  outH: number,
  method: 'area' | 'bilinear',
): Float32Array {
  const tx = axisTaps(w, outW, method);
  const ty = axisTaps(h, outH, method);
  // horizontal pass: h rows of outW
  const mid = new Float32Array(h * outW);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const orow = y * outW;
    for (let o = 0; o < outW; o++) {
      const s = tx.start[o] as number;
      const c = tx.count[o] as number;
      const wb = o * tx.maxTaps;
      let acc = 0;
      for (let k = 0; k < c; k++) acc += (src[row + s + k] as number) * (tx.weights[wb + k] as number);
      mid[orow + o] = acc;
    }
  }
  // vertical pass
  const out = new Float32Array(outH * outW);
  for (let o = 0; o < outH; o++) {
    const s = ty.start[o] as number;
    const c = ty.count[o] as number;
    const wb = o * ty.maxTaps;
    const orow = o * outW;
    for (let k = 0; k < c; k++) {
      const wk = ty.weights[wb + k] as number;
      const mrow = (s + k) * outW;
      for (let x = 0; x < outW; x++) out[orow + x] = (out[orow + x] as number) + (mid[mrow + x] as number) * wk;
    }
  }
  return out;
}
