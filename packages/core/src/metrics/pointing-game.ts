import { DataError } from '../errors';
import type { BinaryMask, Box } from '../types';

/** One pointing-game trial: where a map peaks and where the finding really is. */
export interface PointingTrial {
  /** The map's maximum, in the target's pixel coordinates (continuous: pixel (i, j) spans [i, i + 1)). */
  peak: { x: number; y: number };
  /** The finding: its mask, or its boxes. */
  target: BinaryMask | readonly Box[];
}

/** Result of {@link pointingGame}. */
export interface PointingGameResult {
  hits: number;
  trials: number;
  /** hits / trials (NaN without trials). */
  accuracy: number;
}

/**
 * Pointing game (Zhang et al. 2016): a trial is a hit when the map's peak falls on the finding: on a foreground
 * pixel of its mask or inside one of its boxes, or within `tolerance` pixels (Euclidean) of one.
 *
 * @example
 * pointingGame([{ peak: { x: 40, y: 52 }, target: [{ x: 30, y: 45, width: 20, height: 15 }] }]).accuracy;   // 1
 */
export function pointingGame(
  trials: readonly PointingTrial[],
  options: { tolerance?: number } = {},
): PointingGameResult {
  const tol = options.tolerance ?? 0;
  if (!(tol >= 0))
    throw new DataError('Pointing-game tolerance must be non-negative', {
      field: 'tolerance',
      expected: '>= 0 pixels',
      found: String(tol),
    });
  let hits = 0;
  trials.forEach((t, i) => {
    if (!(Number.isFinite(t.peak?.x) && Number.isFinite(t.peak?.y))) {
      throw new DataError('Pointing-game peak is not a point', {
        row: i + 1,
        field: 'peak',
        expected: 'finite { x, y }',
        found: JSON.stringify(t.peak),
      });
    }
    if (
      Array.isArray(t.target)
        ? hitsBoxes(t.peak, t.target as readonly Box[], tol)
        : hitsMask(t.peak, t.target as BinaryMask, tol)
    )
      hits++;
  });
  return { hits, trials: trials.length, accuracy: trials.length === 0 ? NaN : hits / trials.length };
}

function hitsBoxes(p: { x: number; y: number }, boxes: readonly Box[], tol: number): boolean {
  return boxes.some((b) => {
    const dx = Math.max(b.x - p.x, 0, p.x - (b.x + b.width));
    const dy = Math.max(b.y - p.y, 0, p.y - (b.y + b.height));
    return dx * dx + dy * dy <= tol * tol;
  });
}

function hitsMask(p: { x: number; y: number }, mask: BinaryMask, tol: number): boolean {
  const { width, height, data } = mask;
  const r = Math.ceil(tol);
  const px = Math.floor(p.x);
  const py = Math.floor(p.y);
  for (let y = Math.max(0, py - r); y <= Math.min(height - 1, py + r); y++) {
    for (let x = Math.max(0, px - r); x <= Math.min(width - 1, px + r); x++) {
      if (data[y * width + x] === 0) continue;
      // distance from the peak to the nearest point of pixel (x, y)
      const dx = Math.max(x - p.x, 0, p.x - (x + 1));
      const dy = Math.max(y - p.y, 0, p.y - (y + 1));
      if (dx * dx + dy * dy <= tol * tol) return true;
    }
  }
  return false;
}
