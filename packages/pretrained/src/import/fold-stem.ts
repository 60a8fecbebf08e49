/**
 * Folds an RGB stem (conv0 [O, 3, k, k], PyTorch order, fed per-channel normalised `(g - m_c) / s_c`) into a grey
 * one fed `(g - m) / s`, for a grey film g repeated as RGB: each output's kernel becomes `s * sum_c W_c / s_c`
 * (the RGB kernels summed, each rescaled to the grey normalisation) and the constant left over,
 * `delta_o = sum_{c,taps} W_c (m - m_c) / s_c`, moves into the following BatchNorm's running mean (`mean - delta`).
 * Exact wherever the 7x7 window lies inside the image; on the 3-pixel border PyTorch pads three differently
 * normalised channels with zeros, which no single grey value reproduces.
 */
export function foldStem(
  kernel: Float32Array,
  shape: readonly number[],
  norm0RunningMean: Float32Array,
  channelMean: readonly number[],
  channelStd: readonly number[],
  mean: number,
  std: number,
): { kernel: Float32Array; shape: number[]; runningMean: Float32Array } {
  const [O, C, KH, KW] = shape as [number, number, number, number];
  const taps = KH * KW;
  const out = new Float32Array(O * taps);
  const runningMean = Float32Array.from(norm0RunningMean);
  for (let o = 0; o < O; o++) {
    let delta = 0;
    for (let c = 0; c < C; c++) {
      const sc = channelStd[c]!;
      const shift = (mean - channelMean[c]!) / sc;
      for (let t = 0; t < taps; t++) {
        const w = kernel[(o * C + c) * taps + t]!;
        out[o * taps + t] = out[o * taps + t]! + (std * w) / sc;
        delta += w * shift;
      }
    }
    runningMean[o] = runningMean[o]! - delta;
  }
  return { kernel: out, shape: [O, 1, KH, KW], runningMean };
}
