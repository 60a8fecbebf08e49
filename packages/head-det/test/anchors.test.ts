import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, DataError } from '@multichexnet/core';
import {
  deriveAnchors,
  RSNA_ANCHOR_DERIVATION,
  RSNA_ANCHORS,
  RSNA_ANCHORS_BOX_COUNT,
  RSNA_ANCHORS_MEAN_IOU,
  shapeIoU,
} from '../src/index';
import { readRsnaBoxSizes } from '../scripts/rsna-box-sizes';

const here = dirname(fileURLToPath(import.meta.url));
const RSNA_ZIP = join(here, '..', '..', '..', '..', 'shared', 'realdata', 'kaggle_stage_2_train_labels.csv.zip');

describe('shapeIoU', () => {
  it('is the IoU of centred shapes', () => {
    expect(shapeIoU({ width: 0.2, height: 0.4 }, { width: 0.2, height: 0.2 })).toBeCloseTo(0.5, 12);
    expect(shapeIoU({ width: 0.3, height: 0.3 }, { width: 0.3, height: 0.3 })).toBe(1);
  });
});

describe('deriveAnchors', () => {
  it('recovers well-separated clusters and is deterministic per seed', () => {
    const rng = createRng(9);
    const centres = [
      { width: 0.05, height: 0.05 },
      { width: 0.2, height: 0.4 },
      { width: 0.5, height: 0.25 },
    ];
    const sizes = Array.from({ length: 600 }, (_, i) => {
      const c = centres[i % 3]!;
      return { width: c.width * (1 + rng.uniform(-0.05, 0.05)), height: c.height * (1 + rng.uniform(-0.05, 0.05)) };
    });
    const a = deriveAnchors(sizes, { k: 3, seed: 1 });
    const b = deriveAnchors(sizes, { k: 3, seed: 1 });
    expect(a).toEqual(b);
    expect(a.meanIoU).toBeGreaterThan(0.9);
    // sorted by area: the small cluster first
    a.anchors.forEach((anchor, i) => {
      const target = [centres[0]!, centres[1]!, centres[2]!].sort((p, q) => p.width * p.height - q.width * q.height)[
        i
      ]!;
      expect(shapeIoU(anchor, target)).toBeGreaterThan(0.9);
    });
  });

  it('rejects too few boxes and bad sizes', () => {
    expect(() => deriveAnchors([{ width: 0.1, height: 0.1 }], { k: 2 })).toThrow(DataError);
    expect(() =>
      deriveAnchors(
        [
          { width: Number.NaN, height: 0.1 },
          { width: 0.1, height: 0.1 },
        ],
        { k: 1 },
      ),
    ).toThrow(/row 1/);
  });
});

describe('RSNA_ANCHORS', () => {
  it.skipIf(!existsSync(RSNA_ZIP))('are the k-means of the real RSNA boxes (re-derived from shared/realdata)', () => {
    const sizes = readRsnaBoxSizes(RSNA_ZIP);
    expect(sizes.length).toBe(9555); // DATASETS.md 2.1: Target=1 rows
    expect(RSNA_ANCHORS_BOX_COUNT).toBe(sizes.length);
    const { anchors, meanIoU } = deriveAnchors(sizes, RSNA_ANCHOR_DERIVATION);
    expect(anchors).toHaveLength(RSNA_ANCHORS.length);
    anchors.forEach((a, i) => {
      expect(Math.abs(a.width - RSNA_ANCHORS[i]!.width)).toBeLessThan(1e-6);
      expect(Math.abs(a.height - RSNA_ANCHORS[i]!.height)).toBeLessThan(1e-6);
    });
    expect(Math.abs(meanIoU - RSNA_ANCHORS_MEAN_IOU)).toBeLessThan(1e-6);
  });
  if (!existsSync(RSNA_ZIP)) it.skip(`real RSNA labels not found at ${RSNA_ZIP}; anchor check skipped`, () => {});
});
