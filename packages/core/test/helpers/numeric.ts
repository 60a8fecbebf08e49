import { createRng } from '../../src/index';

/** Seeded normal values (default standard normal), one RNG stream: `n` of them, or as many as `shape` holds. */
export function randomValues(n: number | number[], seed: number, mean = 0, std = 1): Float32Array {
  const rng = createRng(seed);
  const length = typeof n === 'number' ? n : n.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length }, () => rng.normal(mean, std));
}

/**
 * max |a - b| / max |b|: the relative error of a whole tensor (loops: the arrays are too long to spread into
 * Math.max). NaN when a difference is NaN; throws when the lengths differ.
 */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: ${a.length} values against ${b.length}`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return Number.isNaN(diff) ? Number.NaN : diff / Math.max(ref, 1e-12);
}
