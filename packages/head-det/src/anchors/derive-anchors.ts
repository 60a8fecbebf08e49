import { DataError, createRng, type Rng } from '@multichexnet/core';
import { shapeIoU, type Anchor } from './anchor';

/** Options of {@link deriveAnchors}. */
export interface DeriveAnchorsOptions {
  /** Number of anchors K. Default 5 (the authors' YOLOv2 head). */
  k?: number;
  /** Seed of the k-means++ initialisation. Default 0. */
  seed?: number;
  /** Independent k-means runs; the one with the highest mean IoU wins. Default 8. */
  restarts?: number;
  /** Lloyd iterations per run (stops earlier once no assignment changes). Default 300. */
  maxIterations?: number;
}

/** What {@link deriveAnchors} returns. */
export interface DerivedAnchors {
  /** K anchor shapes, fractions of the image, sorted by area (smallest first). */
  anchors: Anchor[];
  /** Mean over the input boxes of the IoU with their best anchor (shapes centred on each other). */
  meanIoU: number;
}

function meanBestIoU(sizes: readonly Anchor[], centroids: readonly Anchor[]): number {
  let total = 0;
  for (const s of sizes) {
    let best = 0;
    for (const c of centroids) best = Math.max(best, shapeIoU(s, c));
    total += best;
  }
  return total / sizes.length;
}

// k-means++ seeding with the YOLOv2 distance d = 1 - IoU: each next centre is drawn with probability
// proportional to d^2 to the nearest centre chosen so far.
function seedCentroids(sizes: readonly Anchor[], k: number, rng: Rng): Anchor[] {
  const centroids: Anchor[] = [{ ...sizes[rng.int(0, sizes.length)]! }];
  const d2 = new Float64Array(sizes.length);
  while (centroids.length < k) {
    let total = 0;
    for (let i = 0; i < sizes.length; i++) {
      let best = Infinity;
      for (const c of centroids) best = Math.min(best, 1 - shapeIoU(sizes[i]!, c));
      d2[i] = best * best;
      total += d2[i]!;
    }
    let pick = 0;
    if (total > 0) {
      let r = rng.next() * total;
      for (pick = 0; pick < sizes.length - 1; pick++) {
        r -= d2[pick]!;
        if (r < 0) break;
      }
    } else {
      pick = rng.int(0, sizes.length);
    }
    centroids.push({ ...sizes[pick]! });
  }
  return centroids;
}

function lloyd(sizes: readonly Anchor[], init: Anchor[], maxIterations: number): Anchor[] {
  const k = init.length;
  let centroids = init;
  const assign = new Int32Array(sizes.length).fill(-1);
  for (let iter = 0; iter < maxIterations; iter++) {
    let changed = false;
    for (let i = 0; i < sizes.length; i++) {
      let best = -1;
      let bestIoU = -1;
      for (let c = 0; c < k; c++) {
        const v = shapeIoU(sizes[i]!, centroids[c]!);
        if (v > bestIoU) {
          bestIoU = v;
          best = c;
        }
      }
      if (assign[i] !== best) {
        assign[i] = best;
        changed = true;
      }
    }
    if (!changed && iter > 0) break;
    const sumW = new Float64Array(k);
    const sumH = new Float64Array(k);
    const count = new Int32Array(k);
    for (let i = 0; i < sizes.length; i++) {
      const c = assign[i]!;
      sumW[c]! += sizes[i]!.width;
      sumH[c]! += sizes[i]!.height;
      count[c]! += 1;
    }
    centroids = centroids.map((old, c) =>
      count[c]! > 0 ? { width: sumW[c]! / count[c]!, height: sumH[c]! / count[c]! } : old,
    );
    // An empty cluster keeps its old centre; with k-means++ seeding on thousands of boxes this does not happen in
    // practice, and keeping it is deterministic.
  }
  return centroids;
}

/**
 * Anchor shapes by k-means over box sizes with the distance 1 - IoU (YOLOv2, Redmon and Farhadi 2017, section
 * "Dimension Clusters"): seeded k-means++ initialisation, Lloyd iterations with the mean as the centre, several
 * restarts, the run with the highest mean IoU kept. Deterministic for a given seed.
 *
 * `sizes` are box widths and heights as fractions of their image. The package's default anchors
 * ({@link RSNA_ANCHORS}) are this function applied to every RSNA training box (script
 * `scripts/derive-rsna-anchors.ts`).
 *
 * @example
 * const { anchors, meanIoU } = deriveAnchors(boxes.map((b) => ({ width: b.width / 1024, height: b.height / 1024 })), { k: 5 });
 */
export function deriveAnchors(sizes: readonly Anchor[], options: DeriveAnchorsOptions = {}): DerivedAnchors {
  const k = options.k ?? 5;
  const restarts = options.restarts ?? 8;
  const maxIterations = options.maxIterations ?? 300;
  if (!Number.isInteger(k) || k < 1) {
    throw new DataError('deriveAnchors needs a positive integer k', {
      field: 'k',
      expected: 'an integer >= 1',
      found: String(k),
    });
  }
  if (sizes.length < k) {
    throw new DataError('deriveAnchors needs at least k boxes', {
      field: 'sizes',
      expected: `>= ${k} boxes`,
      found: `${sizes.length}`,
    });
  }
  sizes.forEach((s, i) => {
    if (!(s.width > 0 && s.height > 0 && Number.isFinite(s.width) && Number.isFinite(s.height))) {
      throw new DataError('Box size must be positive and finite', {
        row: i + 1,
        field: 'width/height',
        expected: 'numbers > 0',
        found: `${s.width} x ${s.height}`,
      });
    }
  });
  const rng = createRng(options.seed ?? 0);
  let best: DerivedAnchors | null = null;
  for (let r = 0; r < restarts; r++) {
    const centroids = lloyd(sizes, seedCentroids(sizes, k, rng.fork(`restart-${r}`)), maxIterations);
    const meanIoU = meanBestIoU(sizes, centroids);
    if (best === null || meanIoU > best.meanIoU) best = { anchors: centroids, meanIoU };
  }
  best!.anchors.sort((a, b) => a.width * a.height - b.width * b.height || a.width - b.width);
  return best!;
}
