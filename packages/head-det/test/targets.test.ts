import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, initBackend, tf } from '@multichexnet/core';
import { disposeDetTargets, encodeDetTargets, shapeIoU, type Anchor } from '../src/index';

const anchors: Anchor[] = [
  { width: 0.1, height: 0.1 },
  { width: 0.2, height: 0.4 },
];
const layout = { level: 'c5' as const, anchors };

beforeAll(async () => {
  await initBackend('cpu');
});

describe('encodeDetTargets', () => {
  it('puts a box in the cell of its centre, on the anchor of best shape, with YOLOv2 offsets', () => {
    // 128 px image, c5 -> 4 x 4 grid of 32 px cells. Box centre (80, 40) -> col 2, row 1; size 26 x 51 px.
    const b = { x: 67, y: 14.5, width: 26, height: 51 };
    const t = encodeDetTargets([[b]], 128, layout);
    expect(t.box.shape).toEqual([1, 4, 4, 2, 4]);
    expect(t.objectness.shape).toEqual([1, 4, 4, 2]);
    const obj = t.objectness.arraySync()[0]!;
    const w = 26 / 128;
    const h = 51 / 128;
    const best =
      shapeIoU({ width: w, height: h }, anchors[1]!) > shapeIoU({ width: w, height: h }, anchors[0]!) ? 1 : 0;
    expect(best).toBe(1);
    const ones: number[][] = [];
    obj.forEach((r, row) => r.forEach((c, col) => c.forEach((v, k) => v === 1 && ones.push([row, col, k]))));
    expect(ones).toEqual([[1, 2, 1]]);
    const tb = t.box.arraySync()[0]![1]![2]![1]!;
    expect(tb[0]).toBeCloseTo((80 / 128) * 4 - 2, 5);
    expect(tb[1]).toBeCloseTo((40 / 128) * 4 - 1, 5);
    expect(tb[2]).toBeCloseTo(Math.log(w / 0.2), 5);
    expect(tb[3]).toBeCloseTo(Math.log(h / 0.4), 5);
    expect(Array.from(t.mask.dataSync())).toEqual([1]);
    expect(t.truth.arraySync()[0]![0]).toEqual([67 / 128, 14.5 / 128, 93 / 128, 65.5 / 128].map((v) => Math.fround(v)));
    expect(t.dropped).toBe(0);
    disposeDetTargets(t);
  });

  it('handles several boxes in one cell: pairs assigned greedily by shape IoU, a box left without anchor is dropped', () => {
    // Three boxes centred in cell (0, 0) of a 2 x 2 grid. Both tall boxes prefer anchor 1; the small one fits
    // anchor 0 (IoU 0.39) far better than a tall box does (0.07), so: best tall box -> anchor 1, small -> anchor 0,
    // the other tall box is dropped.
    const tall = { x: 2, y: 2, width: 24, height: 26 };
    const tall2 = { x: 4, y: 4, width: 25, height: 28 };
    const small = { x: 10, y: 10, width: 4, height: 4 };
    const t = encodeDetTargets([[tall, tall2, small]], 64, layout);
    const obj = t.objectness.arraySync()[0]![0]![0]!;
    expect(obj).toEqual([1, 1]);
    expect(t.dropped).toBe(1);
    const cell = t.box.arraySync()[0]![0]![0]!;
    expect(cell[0]![2]).toBeCloseTo(Math.log(4 / 64 / 0.1), 5);
    const tallIoU = shapeIoU({ width: 24 / 64, height: 26 / 64 }, anchors[1]!);
    const tall2IoU = shapeIoU({ width: 25 / 64, height: 28 / 64 }, anchors[1]!);
    const winner = tall2IoU > tallIoU ? tall2 : tall;
    expect(cell[1]![2]).toBeCloseTo(Math.log(winner.width / 64 / 0.2), 5);
    disposeDetTargets(t);
  });

  it('puts a centre on the image edge into the last cell and clips boxes to the image', () => {
    const t = encodeDetTargets([[{ x: 40, y: 40, width: 48, height: 48 }]], 64, layout); // clipped to 40..64, centre 52
    const obj = t.objectness.arraySync()[0]!;
    expect(obj[1]![1]!.some((v) => v === 1)).toBe(true);
    expect(t.truth.arraySync()[0]![0]![2]).toBe(1);
    disposeDetTargets(t);
  });

  it('encodes an empty image as a labelled negative and null as unlabelled (NaN objectness, mask 0)', () => {
    const t = encodeDetTargets([[], null], 64, layout);
    expect(Array.from(t.mask.dataSync())).toEqual([1, 0]);
    const obj = t.objectness.arraySync();
    expect(obj[0]!.flat(2).every((v) => v === 0)).toBe(true);
    expect(obj[1]!.flat(2).every((v) => Number.isNaN(v))).toBe(true);
    expect(t.truth.shape).toEqual([2, 1, 4]);
    disposeDetTargets(t);
  });

  it('rejects NaN coordinates, boxes outside the image and sizes that do not fit the stride', () => {
    expect(() => encodeDetTargets([[], [{ x: Number.NaN, y: 0, width: 1, height: 1 }]], 64, layout)).toThrow(
      /row 2, field boxes\[0\]\.x/,
    );
    expect(() => encodeDetTargets([[{ x: 100, y: 0, width: 5, height: 5 }]], 64, layout)).toThrow(DataError);
    expect(() => encodeDetTargets([[]], 100, layout)).toThrow(/multiple of the c5 stride 32/);
    expect(() => encodeDetTargets([], 64, layout)).toThrow(DataError);
  });

  it('breaks equal shape IoUs towards the lower anchor index', () => {
    const same = [
      { width: 0.3, height: 0.3 },
      { width: 0.3, height: 0.3 },
    ];
    const t = encodeDetTargets([[{ x: 0, y: 0, width: 20, height: 20 }]], 64, { level: 'c5', anchors: same });
    expect(t.objectness.arraySync()[0]![0]![0]).toEqual([1, 0]);
    disposeDetTargets(t);
  });

  it('supports rectangular inputs and the c4 level', () => {
    const t = encodeDetTargets(
      [[{ x: 0, y: 0, width: 10, height: 10 }]],
      { width: 64, height: 32 },
      { level: 'c4', anchors },
    );
    expect(t.objectness.shape).toEqual([1, 2, 4, 2]);
    disposeDetTargets(t);
  });

  it('does not leak', () => {
    const before = tf.memory().numTensors;
    disposeDetTargets(encodeDetTargets([[{ x: 3, y: 3, width: 20, height: 20 }], [], null], 64, layout));
    expect(tf.memory().numTensors).toBe(before);
  });
});
