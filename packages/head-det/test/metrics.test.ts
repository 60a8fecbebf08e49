import { describe, expect, it } from 'vitest';
import { DataError, type Box, type ScoredBox } from '@multichexnet/core';
import {
  apAt,
  boxIoU,
  nonMaxSuppression,
  parseRsnaPredictionString,
  precisionRecallCurve,
  rsnaImageAP,
  rsnaMeanAP,
  RSNA_IOU_THRESHOLDS,
  toRsnaPredictionString,
} from '../src/index';

const box = (x: number, y: number, width: number, height: number): Box => ({ x, y, width, height });
const pred = (x: number, y: number, width: number, height: number, score = 1): ScoredBox => ({ x, y, width, height, score });

describe('boxIoU', () => {
  it('basic cases, continuous coordinates without +1', () => {
    expect(boxIoU(box(0, 0, 100, 100), box(0, 0, 100, 60))).toBeCloseTo(0.6, 12);
    expect(boxIoU(box(0, 0, 10, 10), box(5, 5, 10, 10))).toBeCloseTo(25 / 175, 12);
    expect(boxIoU(box(0, 0, 10, 10), box(10, 0, 10, 10))).toBe(0); // touching
    expect(boxIoU(box(0, 0, 0, 0), box(0, 0, 0, 0))).toBe(0); // degenerate
  });
});

describe('rsnaMeanAP: DATASETS.md 2.5 test vectors', () => {
  // [case, truth, predictions, official (>), reference kernel (>=)]; null = skipped
  const vectors: [string, Box[], ScoredBox[], number | null, number | null][] = [
    ['exact match', [box(100, 100, 200, 300)], [pred(100, 100, 200, 300)], 1, 1],
    ['IoU 0.6 exactly', [box(0, 0, 100, 100)], [pred(0, 0, 100, 60)], 0.5, 0.625],
    ['IoU 0.5', [box(0, 0, 100, 100)], [pred(0, 0, 100, 50)], 0.25, 0.375],
    ['no truth, 1 prediction', [], [pred(0, 0, 10, 10)], 0, 0],
    ['no truth, no prediction', [], [], null, null],
    ['2 truth, 1 exact prediction', [box(0, 0, 10, 10), box(50, 50, 10, 10)], [pred(0, 0, 10, 10)], 0.5, 0.5],
    ['1 truth, 2 identical predictions', [box(0, 0, 10, 10)], [pred(0, 0, 10, 10, 0.9), pred(0, 0, 10, 10, 0.8)], 0.5, 0.5],
    ['1 truth, no prediction', [box(0, 0, 10, 10)], [], 0, 0],
  ];
  for (const [name, truth, predictions, official, kernel] of vectors) {
    it(name, () => {
      const gt = rsnaImageAP({ truth, predictions });
      const gte = rsnaImageAP({ truth, predictions }, { matchRule: 'gte' });
      if (official === null) expect(gt).toBeNull();
      else expect(gt).toBeCloseTo(official, 12);
      if (kernel === null) expect(gte).toBeNull();
      else expect(gte).toBeCloseTo(kernel, 12);
    });
  }

  it('averages over evaluated images only, skipping empty ones', () => {
    const images = [
      { truth: [box(100, 100, 200, 300)], predictions: [pred(100, 100, 200, 300)] },
      { truth: [], predictions: [pred(0, 0, 50, 50, 0.4)] },
      { truth: [], predictions: [] },
    ];
    expect(rsnaMeanAP(images)).toBeCloseTo(0.5, 12);
    expect(rsnaMeanAP([{ truth: [], predictions: [] }])).toBeNaN();
    expect(rsnaMeanAP([])).toBeNaN();
  });

  it('uses the literal thresholds', () => {
    expect(RSNA_IOU_THRESHOLDS).toEqual([0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]);
    expect(RSNA_IOU_THRESHOLDS[4]).toBe(0.6);
  });

  it('each prediction, in descending confidence, claims the unmatched truth with the highest IoU', () => {
    // a overlaps truth[1] exactly and truth[0] with IoU 0.6; b overlaps truth[0] exactly. Taken first, a must
    // claim truth[1] (its best), leaving truth[0] to b: a perfect 1 at every threshold.
    const truth = [box(0, 0, 100, 100), box(0, 0, 100, 60)];
    const a = pred(0, 0, 100, 60, 0.9);
    const b = pred(0, 0, 100, 100, 0.8);
    expect(rsnaImageAP({ truth, predictions: [b, a] })).toBeCloseTo(1, 12);
    // One truth, two candidates: the confident miss (IoU 0.5) is taken first. At t = 0.4, 0.45 it matches and
    // the exact box is a false positive (1/2); at t >= 0.5 it misses and the exact box matches (1/2).
    const one = [box(0, 0, 100, 100)];
    expect(rsnaImageAP({ truth: one, predictions: [pred(0, 0, 100, 100, 0.1), pred(0, 0, 100, 50, 0.9)] })).toBeCloseTo(0.5, 12);
  });

  it('rejects NaN coordinates and scores with a DataError naming the image and field', () => {
    expect(() => rsnaMeanAP([{ truth: [box(0, Number.NaN, 1, 1)], predictions: [] }])).toThrow(DataError);
    expect(() => rsnaMeanAP([{ truth: [], predictions: [pred(0, 0, 1, 1, Number.NaN)] }])).toThrow(/row 1, field predictions\[0\]\.score/);
  });
});

describe('precisionRecallCurve and apAt (VOC all-point)', () => {
  it('a perfect detector has AP 1', () => {
    const images = [
      { truth: [box(0, 0, 10, 10)], predictions: [pred(0, 0, 10, 10, 0.9)] },
      { truth: [box(20, 20, 10, 10), box(50, 50, 5, 5)], predictions: [pred(20, 20, 10, 10, 0.8), pred(50, 50, 5, 5, 0.7)] },
    ];
    expect(apAt(images)).toBeCloseTo(1, 12);
  });

  it('hand-computed curve: TP, FP, TP, missed truth', () => {
    // 3 truth boxes. Predictions by score: 0.9 TP, 0.8 FP (no overlap), 0.7 TP; one truth never found.
    const images = [
      { truth: [box(0, 0, 10, 10), box(100, 100, 10, 10)], predictions: [pred(0, 0, 10, 10, 0.9), pred(200, 200, 10, 10, 0.8)] },
      { truth: [box(0, 0, 20, 20)], predictions: [pred(0, 0, 20, 20, 0.7)] },
    ];
    const { points, truthCount } = precisionRecallCurve(images);
    expect(truthCount).toBe(3);
    expect(points.map((p) => p.truePositive)).toEqual([true, false, true]);
    expect(points.map((p) => p.precision)).toEqual([1, 1 / 2, 2 / 3]);
    expect(points.map((p) => p.recall)).toEqual([1 / 3, 1 / 3, 2 / 3]);
    // envelope: [1, 2/3, 2/3]; area = 1/3 * 1 + (2/3 - 1/3) * 2/3
    expect(apAt(images)).toBeCloseTo(1 / 3 + 2 / 9, 12);
  });

  it('a duplicate detection is a false positive; the envelope lifts the dip', () => {
    const images = [{ truth: [box(0, 0, 10, 10), box(30, 30, 10, 10)], predictions: [pred(0, 0, 10, 10, 0.9), pred(0, 0, 10, 10, 0.8), pred(30, 30, 10, 10, 0.7)] }];
    const { points } = precisionRecallCurve(images);
    expect(points.map((p) => p.truePositive)).toEqual([true, false, true]);
    // precisions 1, 1/2, 2/3 at recalls 1/2, 1/2, 1 -> AP = 1/2 * 1 + 1/2 * 2/3
    expect(apAt(images)).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it('threshold rule: IoU exactly 0.5 is a hit with gte (VOC devkit), not with gt', () => {
    const images = [{ truth: [box(0, 0, 100, 100)], predictions: [pred(0, 0, 100, 50, 0.9)] }];
    expect(apAt(images, 0.5)).toBe(1);
    expect(apAt(images, 0.5, { matchRule: 'gt' })).toBe(0);
  });

  it('edge cases: no truth -> NaN, no predictions -> 0, empty curve', () => {
    expect(apAt([{ truth: [], predictions: [pred(0, 0, 1, 1)] }])).toBeNaN();
    expect(apAt([{ truth: [box(0, 0, 1, 1)], predictions: [] }])).toBe(0);
    expect(precisionRecallCurve([]).points).toEqual([]);
  });
});

describe('nonMaxSuppression', () => {
  it('keeps the best of overlapping boxes, is stable on ties and respects maxOutput', () => {
    const boxes = [pred(1, 0, 10, 10, 0.8), pred(0, 0, 10, 10, 0.9), pred(50, 50, 10, 10, 0.8), pred(100, 100, 5, 5, 0.1)];
    expect(nonMaxSuppression(boxes, 0.5)).toEqual([boxes[1], boxes[2], boxes[3]]);
    expect(nonMaxSuppression(boxes, 0.5, 2)).toEqual([boxes[1], boxes[2]]);
    expect(nonMaxSuppression(boxes, 0.9)).toEqual([boxes[1], boxes[0], boxes[2], boxes[3]]);
    const tie = [pred(0, 0, 10, 10, 0.5), pred(0, 0, 10, 10, 0.5)];
    expect(nonMaxSuppression(tie, 0.5)[0]).toBe(tie[0]);
    expect(nonMaxSuppression([], 0.5)).toEqual([]);
  });
  it('suppresses only above the threshold (IoU == threshold survives)', () => {
    const a = pred(0, 0, 100, 100, 0.9);
    const b = pred(0, 0, 100, 50, 0.8); // IoU 0.5
    expect(nonMaxSuppression([a, b], 0.5)).toHaveLength(2);
    expect(nonMaxSuppression([a, b], 0.49)).toHaveLength(1);
  });
});

describe('RSNA PredictionString', () => {
  it('formats and parses back', () => {
    const boxes = [pred(264, 152, 213, 379, 0.87), pred(562.25, 152, 256, 453, 0.5)];
    const s = toRsnaPredictionString(boxes);
    expect(s).toBe('0.87 264 152 213 379 0.5 562.25 152 256 453');
    expect(parseRsnaPredictionString(s)).toEqual(boxes);
    expect(toRsnaPredictionString([])).toBe('');
    expect(parseRsnaPredictionString('')).toEqual([]);
    expect(parseRsnaPredictionString('  0.5 0 0 100 100 ')).toEqual([pred(0, 0, 100, 100, 0.5)]);
    expect(toRsnaPredictionString([pred(1 / 3, 0, 10, 10, 2 / 3)], { decimals: 2 })).toBe('0.67 0.33 0 10 10');
  });
  it('names the file, row and value on bad input', () => {
    expect(() => parseRsnaPredictionString('0.5 0 0 100', { file: 'sub.csv', row: 7 })).toThrow(/file sub\.csv, row 7.*4 values/);
    expect(() => parseRsnaPredictionString('0.5 0 zero 100 100')).toThrow(/value 3.*"zero"/);
    expect(() => parseRsnaPredictionString('0.5 0 0 -1 100')).toThrow(DataError);
    expect(() => toRsnaPredictionString([pred(0, 0, 1, Number.NaN)])).toThrow(DataError);
  });
});
