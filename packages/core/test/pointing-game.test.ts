import { describe, expect, it } from 'vitest';
import { DataError, pointingGame, type BinaryMask } from '../src/index';

const mask = (width: number, height: number, on: [number, number][]): BinaryMask => {
  const data = new Uint8Array(width * height);
  for (const [x, y] of on) data[y * width + x] = 1;
  return { width, height, data };
};

describe('pointingGame', () => {
  it('counts a peak inside a box or on a mask pixel as a hit', () => {
    const r = pointingGame([
      { peak: { x: 12, y: 12 }, target: [{ x: 10, y: 10, width: 5, height: 5 }] },
      { peak: { x: 2, y: 2 }, target: [{ x: 10, y: 10, width: 5, height: 5 }] },
      { peak: { x: 3.5, y: 4.2 }, target: mask(8, 8, [[3, 4]]) },
      { peak: { x: 4.5, y: 4.2 }, target: mask(8, 8, [[3, 4]]) },
    ]);
    expect(r).toEqual({ hits: 2, trials: 4, accuracy: 0.5 });
  });

  it('accepts misses within the tolerance (Euclidean distance to the box or pixel)', () => {
    const box = [{ x: 10, y: 10, width: 5, height: 5 }];
    expect(pointingGame([{ peak: { x: 18, y: 18 }, target: box }], { tolerance: 4 }).hits).toBe(0); // 3 * sqrt(2) > 4
    expect(pointingGame([{ peak: { x: 18, y: 18 }, target: box }], { tolerance: 4.5 }).hits).toBe(1);
    expect(pointingGame([{ peak: { x: 6.5, y: 4.5 }, target: mask(8, 8, [[3, 4]]) }], { tolerance: 2.5 }).hits).toBe(1);
    expect(pointingGame([{ peak: { x: 6.5, y: 4.5 }, target: mask(8, 8, [[3, 4]]) }], { tolerance: 2.4 }).hits).toBe(0);
  });

  it('scores an empty target as a miss and no trials as NaN', () => {
    expect(pointingGame([{ peak: { x: 1, y: 1 }, target: [] }]).accuracy).toBe(0);
    expect(pointingGame([{ peak: { x: 1, y: 1 }, target: mask(4, 4, []) }], { tolerance: 10 }).accuracy).toBe(0);
    expect(pointingGame([]).accuracy).toBeNaN();
  });

  it('names the trial with a NaN peak and a negative tolerance', () => {
    const box = [{ x: 0, y: 0, width: 1, height: 1 }];
    expect(() =>
      pointingGame([
        { peak: { x: 0, y: 0 }, target: box },
        { peak: { x: NaN, y: 0 }, target: box },
      ]),
    ).toThrow(DataError);
    expect(() =>
      pointingGame([
        { peak: { x: 0, y: 0 }, target: box },
        { peak: { x: NaN, y: 0 }, target: box },
      ]),
    ).toThrow(/row 2/);
    expect(() => pointingGame([], { tolerance: -1 })).toThrow(/tolerance/);
  });
});
