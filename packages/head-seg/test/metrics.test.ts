import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, DataError, type BinaryMask } from '@multichexnet/core';
import { boxesToMask, diceScore, maskComponents, maskToBoxes, positiveMeanDice, siimMeanDice } from '../src/index';
import { readSiimMasks } from './siim-rle';

const here = dirname(fileURLToPath(import.meta.url));
const SIIM_RLE = join(here, '..', '..', '..', '..', 'shared', 'realdata', 'siim-pneumothorax-train-rle.csv.gz');
const PYTHON = '/usr/bin/python3';

function hasScipy(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy, scipy.ndimage'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const SCIPY = existsSync(PYTHON) && hasScipy();

/** Mask from rows of '.' and '#'. */
function mask(rows: string[]): BinaryMask {
  const height = rows.length;
  const width = rows[0]?.length ?? 0;
  return { width, height, data: Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0)) };
}
const empty = (w: number, h: number): BinaryMask => ({ width: w, height: h, data: new Uint8Array(w * h) });

describe('diceScore and siimMeanDice: DATASETS.md 3.4 test vectors', () => {
  it('both empty = 1, exactly one empty = 0', () => {
    expect(diceScore(empty(3, 2), empty(3, 2))).toBe(1);
    expect(diceScore(mask(['#..', '...']), empty(3, 2))).toBe(0);
    expect(diceScore(empty(3, 2), mask(['#..', '...']))).toBe(0);
  });
  it('|X| = 3, |Y| = 2, |X ∩ Y| = 2 gives 0.8', () => {
    const truth = mask(['###', '...']);
    const pred = mask(['##.', '...']);
    expect(diceScore(pred, truth)).toBeCloseTo(0.8, 12);
    expect(diceScore(truth, pred)).toBeCloseTo(0.8, 12); // symmetric
  });
  it('treats any non-zero value as foreground (255 masks as the SIIM code writes them)', () => {
    const a: BinaryMask = { width: 2, height: 1, data: Uint8Array.of(255, 0) };
    expect(diceScore(a, mask(['#.']))).toBe(1);
  });
  it('the mean counts empty images', () => {
    const images = [
      { prediction: empty(2, 2), truth: empty(2, 2) }, // 1
      { prediction: mask(['#.', '..']), truth: empty(2, 2) }, // 0
      { prediction: mask(['##.', '...']), truth: mask(['###', '...']) }, // 0.8
    ];
    expect(siimMeanDice(images)).toBeCloseTo(1.8 / 3, 12);
    expect(siimMeanDice([])).toBeNaN();
  });
  it('positiveMeanDice averages only the images whose truth has a foreground pixel', () => {
    const images = [
      { prediction: empty(2, 2), truth: empty(2, 2) }, // left out (would be 1)
      { prediction: mask(['#.', '..']), truth: empty(2, 2) }, // left out (would be 0)
      { prediction: mask(['##.', '...']), truth: mask(['###', '...']) }, // 0.8
      { prediction: empty(3, 2), truth: mask(['#..', '...']) }, // 0
    ];
    expect(positiveMeanDice(images)).toBeCloseTo(0.4, 12);
    expect(positiveMeanDice(images.slice(0, 2))).toBeNaN();
    expect(positiveMeanDice([])).toBeNaN();
    expect(() => positiveMeanDice([{ prediction: empty(2, 2), truth: empty(3, 2) }])).toThrow(
      /row 1, field prediction/,
    );
  });
  it('rejects masks of different sizes or broken data with a DataError naming the image', () => {
    expect(() => diceScore(empty(2, 2), empty(3, 2))).toThrow(DataError);
    expect(() =>
      siimMeanDice([
        { prediction: empty(2, 2), truth: empty(2, 2) },
        { prediction: { width: 2, height: 2, data: new Uint8Array(3) }, truth: empty(2, 2) },
      ]),
    ).toThrow(/row 2, field prediction/);
  });
});

describe('maskToBoxes', () => {
  it('finds components with 8-connectivity by default, 4 on request, in raster order', () => {
    const m = mask(['##....', '.#..#.', '..#.##', '......', '#.....']);
    expect(maskToBoxes(m)).toEqual([
      { x: 0, y: 0, width: 3, height: 3 },
      { x: 4, y: 1, width: 2, height: 2 },
      { x: 0, y: 4, width: 1, height: 1 },
    ]);
    expect(maskToBoxes(m, { connectivity: 4 })).toEqual([
      { x: 0, y: 0, width: 2, height: 2 },
      { x: 4, y: 1, width: 2, height: 2 },
      { x: 2, y: 2, width: 1, height: 1 },
      { x: 0, y: 4, width: 1, height: 1 },
    ]);
    expect(maskComponents(m).map((c) => c.area)).toEqual([4, 3, 1]);
  });
  it('drops components below minArea; empty and all-foreground masks', () => {
    const m = mask(['#..##', '...##']);
    expect(maskToBoxes(m, { minArea: 2 })).toEqual([{ x: 3, y: 0, width: 2, height: 2 }]);
    expect(maskToBoxes(empty(4, 4))).toEqual([]);
    expect(maskToBoxes(mask(['###', '###']))).toEqual([{ x: 0, y: 0, width: 3, height: 2 }]);
    expect(maskToBoxes(empty(0, 0))).toEqual([]);
  });
  it('rejects bad masks and options', () => {
    expect(() => maskToBoxes({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(DataError);
    expect(() => maskToBoxes(empty(2, 2), { connectivity: 6 as 4 })).toThrow(/connectivity/);
  });
  it('boxesToMask inverts it for rectangles and ignores parts outside the image', () => {
    const boxes = [
      { x: 1, y: 0, width: 2, height: 1 },
      { x: 4, y: 2, width: 3, height: 5 },
    ];
    const m = boxesToMask(boxes, 6, 4);
    expect(maskToBoxes(m)).toEqual([
      { x: 1, y: 0, width: 2, height: 1 },
      { x: 4, y: 2, width: 2, height: 2 },
    ]);
    expect(boxesToMask([{ x: 1, y: 0, width: 2, height: 1 }], 4, 2).data).toEqual(
      Uint8Array.of(0, 1, 1, 0, 0, 0, 0, 0),
    );
    expect(() => boxesToMask([{ x: Number.NaN, y: 0, width: 1, height: 1 }], 2, 2)).toThrow(DataError);
  });

  it.skipIf(!SCIPY)('agrees with scipy.ndimage.label on random masks (8- and 4-connectivity)', () => {
    const rng = createRng(17);
    const B = 6;
    const H = 40;
    const W = 33;
    const masks = Array.from({ length: B }, (_, b): BinaryMask => ({
      width: W,
      height: H,
      data: Uint8Array.from({ length: W * H }, () => (rng.next() < 0.25 + 0.08 * b ? 1 : 0)),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'chexseg-'));
    try {
      const file = join(dir, 'masks.u8');
      const all = new Uint8Array(B * W * H);
      masks.forEach((m, b) => all.set(m.data, b * W * H));
      writeFileSync(file, all);
      for (const conn of [8, 4] as const) {
        const ref = JSON.parse(
          execFileSync(PYTHON, [
            join(here, 'reference', 'components.py'),
            file,
            String(B),
            String(H),
            String(W),
            String(conn),
          ]).toString(),
        ) as number[][][];
        masks.forEach((m, b) => {
          const ours = maskComponents(m, { connectivity: conn }).map((c) => [
            c.box.x,
            c.box.y,
            c.box.width,
            c.box.height,
            c.area,
          ]);
          const sortKey = (v: number[]): string => v.join(',');
          expect(ours.map(sortKey).sort()).toEqual(ref[b]!.map(sortKey).sort());
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!SCIPY || !existsSync(SIIM_RLE))('agrees with scipy on real SIIM pneumothorax masks', () => {
    const real = readSiimMasks(SIIM_RLE, 8);
    expect(real).toHaveLength(8);
    const dir = mkdtempSync(join(tmpdir(), 'chexseg-'));
    try {
      const file = join(dir, 'siim.u8');
      const all = new Uint8Array(real.length * 1024 * 1024);
      real.forEach((r, i) => all.set(r.mask.data, i * 1024 * 1024));
      writeFileSync(file, all);
      const ref = JSON.parse(
        execFileSync(
          PYTHON,
          [join(here, 'reference', 'components.py'), file, String(real.length), '1024', '1024', '8'],
          { maxBuffer: 1 << 24 },
        ).toString(),
      ) as number[][][];
      real.forEach((r, i) => {
        const ours = maskComponents(r.mask).map((c) => [c.box.x, c.box.y, c.box.width, c.box.height, c.area].join(','));
        expect(ours.length).toBeGreaterThan(0);
        expect(ours.sort()).toEqual(ref[i]!.map((v) => v.join(',')).sort());
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  if (!SCIPY) it.skip(`scipy not importable by ${PYTHON}; reference checks against scipy.ndimage skipped`, () => {});
  if (!existsSync(SIIM_RLE)) it.skip(`real SIIM labels not found at ${SIIM_RLE}; real-mask check skipped`, () => {});
});

// Dice of binary masks is the F1 score of their pixels: scikit-learn's f1_score (zero_division=1 for two empty
// masks) run by Debian's python3-sklearn, one process for every case of this file.
describe('agreement with scikit-learn f1_score on pixels', () => {
  it('per-image Dice, siimMeanDice and positiveMeanDice on random masks with empty truths and predictions', () => {
    const rng = createRng('dice-reference');
    const W = 24;
    const H = 20;
    const randomMask = (p: number): BinaryMask => ({
      width: W,
      height: H,
      data: Uint8Array.from({ length: W * H }, () => (rng.next() < p ? 1 : 0)),
    });
    const cases = Array.from({ length: 8 }, (_, c) =>
      Array.from({ length: 10 + 5 * c }, () => {
        const truth = rng.bernoulli(0.6) ? empty(W, H) : randomMask(rng.uniform(0.01, 0.4));
        // A prediction overlapping the truth, a random one, or nothing.
        const kind = rng.int(0, 3);
        const prediction =
          kind === 0
            ? empty(W, H)
            : kind === 1
              ? randomMask(rng.uniform(0.005, 0.3))
              : { width: W, height: H, data: truth.data.map((v) => (rng.next() < 0.8 ? v : 1 - v)) };
        return { truth, prediction };
      }),
    );
    const payload = {
      cases: cases.map((images) =>
        images.map((im) => ({ truth: Array.from(im.truth.data), prediction: Array.from(im.prediction.data) })),
      ),
    };
    const res = spawnSync(PYTHON, [join(here, 'reference', 'dice_reference.py')], {
      input: JSON.stringify(payload),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    expect(res.error, `${PYTHON} with sklearn is needed (python3-sklearn in .ci/system-deps)`).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout) as { cases: { perImage: number[]; siim: number; positive: number | null }[] };
    let apart = 0;
    cases.forEach((images, c) => {
      const r = ref.cases[c]!;
      images.forEach((im, i) =>
        expect(diceScore(im.prediction, im.truth), `case ${c} image ${i}`).toBeCloseTo(r.perImage[i]!, 12),
      );
      expect(siimMeanDice(images), `case ${c} siim`).toBeCloseTo(r.siim, 12);
      if (r.positive === null) expect(positiveMeanDice(images)).toBeNaN();
      else expect(positiveMeanDice(images), `case ${c} positive`).toBeCloseTo(r.positive, 12);
      if (Math.abs(siimMeanDice(images) - positiveMeanDice(images)) > 0.05) apart++;
    });
    // Mostly-empty test sets are where the two families part: the cases must show it.
    expect(apart).toBeGreaterThan(2);
  });
});
