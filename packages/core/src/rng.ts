/**
 * Seeded random numbers. Every random choice in the project takes a seed and goes through this module, so the
 * same seed gives the same run (data generation, splits, shuffles, augmentation, initialisers, teacher forcing).
 *
 * The generator is sfc32 seeded through splitmix32: small, fast, 128-bit state, good statistical quality for
 * simulation. (Written here rather than taken from a library because it is 30 lines and must run identically
 * in Node and in browsers.)
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number;
  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Standard normal (Box-Muller). */
  normal(mean?: number, std?: number): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[];
  /** A 32-bit seed for a child generator (for independent streams). */
  seed(): number;
  /** A child generator, independent of later draws of this one. */
  fork(label?: string): Rng;
}

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return t >>> 0;
  };
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Creates a generator from a numeric or string seed. */
export function createRng(seed: number | string): Rng {
  const s0 = typeof seed === 'string' ? hashString(seed) : (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
  const sm = splitmix32(s0);
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  let spareNormal: number | null = null;
  const nextU32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextU32();
  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    int: (lo, hi) => lo + Math.floor((nextU32() / 4294967296) * (hi - lo)),
    uniform: (lo, hi) => lo + (nextU32() / 4294967296) * (hi - lo),
    normal: (mean = 0, std = 1) => {
      if (spareNormal !== null) {
        const z = spareNormal;
        spareNormal = null;
        return mean + std * z;
      }
      let u = 0;
      while (u === 0) u = nextU32() / 4294967296;
      const v = nextU32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return mean + std * r * Math.cos(2 * Math.PI * v);
    },
    bernoulli: (p) => nextU32() / 4294967296 < p,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick() from an empty list');
      return items[Math.floor((nextU32() / 4294967296) * items.length)] as (typeof items)[number];
    },
    shuffle: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor((nextU32() / 4294967296) * (i + 1));
        const tmp = out[i] as (typeof out)[number];
        out[i] = out[j] as (typeof out)[number];
        out[j] = tmp;
      }
      return out;
    },
    seed: () => nextU32(),
    fork: (label) => createRng(label === undefined ? nextU32() : (nextU32() ^ hashString(label)) >>> 0),
  };
  return rng;
}

/** Derives a stable 32-bit seed from a base seed and a label (e.g. `deriveSeed(7, 'encoder/conv0')`). */
export function deriveSeed(base: number, label: string): number {
  return (Math.imul(base >>> 0, 0x9e3779b1) ^ hashString(label)) >>> 0;
}
