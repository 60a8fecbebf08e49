/**
 * Interleaved colour samples [N, channels] (channels >= 3, RGB first) → the fraction of pixels whose R, G and B
 * differ by more than 1/8 of the full scale. Gray pixels stored as RGB (the NIH RGBA files, most web-collected
 * COVID JPEGs) score 0 up to compression noise; a colour photograph scores most of its pixels.
 */
export function colourFraction(src: ArrayLike<number>, channels: number, n: number, fullScale: number): number {
  if (n === 0 || channels < 3) return 0;
  const limit = fullScale / 8;
  let coloured = 0;
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    const r = src[o] as number;
    const g = src[o + 1] as number;
    const b = src[o + 2] as number;
    if (Math.max(r, g, b) - Math.min(r, g, b) > limit) coloured++;
  }
  return coloured / n;
}
