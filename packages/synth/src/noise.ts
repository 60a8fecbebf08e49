import type { Rng } from '@multichexnet/core';
import { createField, type Field } from './raster';

/*
 * Seeded value noise: random values on a coarse lattice, smoothly interpolated. Cheap (one lattice lookup per
 * pixel and octave) and fully determined by the Rng, which Perlin/simplex libraries seeded from Math.random
 * are not. Used for parenchymal texture, fluffy opacity edges and the reticular fibrosis pattern.
 */

/**
 * Noise [H, W] in roughly [0, 1]: `octaves` layers of value noise, the first with lattice spacing `cell`
 * pixels, each next one half the spacing and `gain` times the amplitude.
 */
export function valueNoise(width: number, height: number, cell: number, rng: Rng, octaves = 1, gain = 0.5): Field {
  const out = createField(width, height);
  let amp = 1;
  let total = 0;
  let c = Math.max(1, cell);
  for (let o = 0; o < octaves; o++) {
    addOctave(out, c, amp, rng);
    total += amp;
    amp *= gain;
    c = Math.max(1, c / 2);
  }
  const inv = 1 / total;
  for (let i = 0; i < out.data.length; i++) out.data[i] = (out.data[i] as number) * inv;
  return out;
}

function addOctave(f: Field, cell: number, amp: number, rng: Rng): void {
  const gw = Math.ceil(f.width / cell) + 2;
  const gh = Math.ceil(f.height / cell) + 2;
  const lattice = new Float32Array(gw * gh);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next();
  const inv = 1 / cell;
  // Interpolation weights per column are shared by all rows.
  const ix = new Int32Array(f.width);
  const wx = new Float32Array(f.width);
  for (let x = 0; x < f.width; x++) {
    const gx = (x + 0.5) * inv;
    const i0 = Math.floor(gx);
    const t = gx - i0;
    ix[x] = i0;
    wx[x] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < f.height; y++) {
    const gy = (y + 0.5) * inv;
    const j0 = Math.floor(gy);
    const ty = gy - j0;
    const sy = ty * ty * (3 - 2 * ty);
    const r0 = j0 * gw;
    const r1 = r0 + gw;
    const row = y * f.width;
    for (let x = 0; x < f.width; x++) {
      const i0 = ix[x] as number;
      const sx = wx[x] as number;
      const a = (lattice[r0 + i0] as number) + sx * ((lattice[r0 + i0 + 1] as number) - (lattice[r0 + i0] as number));
      const b = (lattice[r1 + i0] as number) + sx * ((lattice[r1 + i0 + 1] as number) - (lattice[r1 + i0] as number));
      f.data[row + x] = (f.data[row + x] as number) + amp * (a + sy * (b - a));
    }
  }
}

/**
 * Ridge lines [H, W] in [0, 1]: 1 along the level set noise = 0.5 of a value-noise field, fading over
 * `sharpness`. The network of worm-like lines reads as a reticular (net-like) pattern.
 */
export function ridgeNoise(width: number, height: number, cell: number, rng: Rng, sharpness = 0.06): Field {
  const n = valueNoise(width, height, cell, rng, 2, 0.45);
  for (let i = 0; i < n.data.length; i++) {
    const d = Math.abs((n.data[i] as number) - 0.5);
    n.data[i] = d >= sharpness ? 0 : 1 - d / sharpness;
  }
  return n;
}
