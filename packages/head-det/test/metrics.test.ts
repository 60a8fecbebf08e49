import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataError, createRng, type Box, type ScoredBox } from '@multichexnet/core';
import {
  apAt,
  positiveApAt,
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
const pred = (x: number, y: number, width: number, height: number, score = 1): ScoredBox => ({
  x,
  y,
  width,
  height,
  score,
});

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
    [
      '1 truth, 2 identical predictions',
      [box(0, 0, 10, 10)],
      [pred(0, 0, 10, 10, 0.9), pred(0, 0, 10, 10, 0.8)],
      0.5,
      0.5,
    ],
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
    expect(rsnaImageAP({ truth: one, predictions: [pred(0, 0, 100, 100, 0.1), pred(0, 0, 100, 50, 0.9)] })).toBeCloseTo(
      0.5,
      12,
    );
  });

  it('rejects NaN coordinates and scores with a DataError naming the image and field', () => {
    expect(() => rsnaMeanAP([{ truth: [box(0, Number.NaN, 1, 1)], predictions: [] }])).toThrow(DataError);
    expect(() => rsnaMeanAP([{ truth: [], predictions: [pred(0, 0, 1, 1, Number.NaN)] }])).toThrow(
      /row 1, field predictions\[0\]\.score/,
    );
  });
});

describe('precisionRecallCurve and apAt (VOC all-point)', () => {
  it('a perfect detector has AP 1', () => {
    const images = [
      { truth: [box(0, 0, 10, 10)], predictions: [pred(0, 0, 10, 10, 0.9)] },
      {
        truth: [box(20, 20, 10, 10), box(50, 50, 5, 5)],
        predictions: [pred(20, 20, 10, 10, 0.8), pred(50, 50, 5, 5, 0.7)],
      },
    ];
    expect(apAt(images)).toBeCloseTo(1, 12);
  });

  it('hand-computed curve: TP, FP, TP, missed truth', () => {
    // 3 truth boxes. Predictions by score: 0.9 TP, 0.8 FP (no overlap), 0.7 TP; one truth never found.
    const images = [
      {
        truth: [box(0, 0, 10, 10), box(100, 100, 10, 10)],
        predictions: [pred(0, 0, 10, 10, 0.9), pred(200, 200, 10, 10, 0.8)],
      },
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
    const images = [
      {
        truth: [box(0, 0, 10, 10), box(30, 30, 10, 10)],
        predictions: [pred(0, 0, 10, 10, 0.9), pred(0, 0, 10, 10, 0.8), pred(30, 30, 10, 10, 0.7)],
      },
    ];
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
    expect(apAt([{ truth: [box(0, 0, 1, 1)], predictions: [] }], 0.5, { interpolation: '11-point' })).toBe(0);
    expect(precisionRecallCurve([]).points).toEqual([]);
  });

  it('11-point interpolation: mean of the envelope at recall 0, 0.1, ..., 1', () => {
    // The hand-computed curve above: recall 1/3 at precision 1, 2/3 at precision 2/3, never beyond 2/3.
    const images = [
      {
        truth: [box(0, 0, 10, 10), box(100, 100, 10, 10)],
        predictions: [pred(0, 0, 10, 10, 0.9), pred(200, 200, 10, 10, 0.8)],
      },
      { truth: [box(0, 0, 20, 20)], predictions: [pred(0, 0, 20, 20, 0.7)] },
    ];
    // r = 0.0..0.3: 1 (4 levels); r = 0.4..0.6: 2/3 (3 levels); r = 0.7..1.0: 0 (4 levels)
    expect(apAt(images, 0.5, { interpolation: '11-point' })).toBeCloseTo((4 + 3 * (2 / 3)) / 11, 12);
    expect(
      apAt([{ truth: [box(0, 0, 10, 10)], predictions: [pred(0, 0, 10, 10)] }], 0.5, { interpolation: '11-point' }),
    ).toBe(1);
  });
});

describe("positiveApAt (the authors' VOC AP@0.5 on positive images)", () => {
  it('leaves out the images without truth, and the false alarms on them', () => {
    const hit = { truth: [box(0, 0, 10, 10)], predictions: [pred(0, 0, 10, 10, 0.9)] };
    const falseAlarm = { truth: [], predictions: [pred(50, 50, 10, 10, 0.95)] };
    expect(apAt([hit, falseAlarm])).toBeCloseTo(0.5, 12);
    expect(positiveApAt([hit, falseAlarm])).toBe(1);
    expect(positiveApAt([hit, falseAlarm], 0.5, { interpolation: '11-point' })).toBe(1);
    // A false alarm on a positive image still counts.
    const both = { truth: [box(0, 0, 10, 10)], predictions: [pred(0, 0, 10, 10, 0.9), pred(50, 50, 10, 10, 0.95)] };
    expect(positiveApAt([both])).toBeCloseTo(0.5, 12);
  });

  it('is NaN without a positive image', () => {
    expect(positiveApAt([{ truth: [], predictions: [pred(0, 0, 1, 1)] }])).toBeNaN();
    expect(positiveApAt([])).toBeNaN();
  });
});

describe('nonMaxSuppression', () => {
  it('keeps the best of overlapping boxes, is stable on ties and respects maxOutput', () => {
    const boxes = [
      pred(1, 0, 10, 10, 0.8),
      pred(0, 0, 10, 10, 0.9),
      pred(50, 50, 10, 10, 0.8),
      pred(100, 100, 5, 5, 0.1),
    ];
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
    expect(() => parseRsnaPredictionString('0.5 0 0 100', { file: 'sub.csv', row: 7 })).toThrow(
      /file sub\.csv, row 7.*4 values/,
    );
    expect(() => parseRsnaPredictionString('0.5 0 zero 100 100')).toThrow(/value 3.*"zero"/);
    expect(() => parseRsnaPredictionString('0.5 0 0 -1 100')).toThrow(DataError);
    expect(() => toRsnaPredictionString([pred(0, 0, 1, Number.NaN)])).toThrow(DataError);
  });
});

// An independent numpy implementation of the same definitions (test/reference/detection_reference.py), run by
// Debian's /usr/bin/python3 once for every case of this file. sklearn has no interpolated detection AP
// (`average_precision_score` neither interpolates nor counts truth boxes no prediction reaches), hence numpy.
const PYTHON = '/usr/bin/python3';
const REFERENCE = fileURLToPath(new URL('./reference/detection_reference.py', import.meta.url));

/** Random images on integer pixels (exact IoUs, so both sides decide hits alike), with ties in the scores. */
function randomImages(seed: string, count: number): { truth: Box[]; predictions: ScoredBox[] }[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => {
    const truth: Box[] = Array.from({ length: rng.bernoulli(0.35) ? 0 : rng.int(1, 4) }, () =>
      box(rng.int(0, 200), rng.int(0, 200), rng.int(10, 80), rng.int(10, 80)),
    );
    const predictions: ScoredBox[] = [];
    for (const t of truth) {
      // 0-2 detections near each object (a second one is a duplicate), scores rounded to tenths.
      for (let k = rng.int(0, 3); k > 0; k--) {
        predictions.push(
          pred(
            t.x + rng.int(-12, 13),
            t.y + rng.int(-12, 13),
            Math.max(1, t.width + rng.int(-15, 16)),
            Math.max(1, t.height + rng.int(-15, 16)),
            rng.int(1, 10) / 10,
          ),
        );
      }
    }
    for (let k = rng.int(0, 3); k > 0; k--)
      predictions.push(pred(rng.int(0, 250), rng.int(0, 250), rng.int(5, 60), rng.int(5, 60), rng.int(1, 10) / 10));
    return { truth, predictions };
  });
}

describe('agreement with an independent numpy reference', () => {
  it('VOC all-point and 11-point AP (all and positive images) and the RSNA mAP on random detections', () => {
    const cases = Array.from({ length: 24 }, (_, c) => ({
      images: randomImages(`det-reference-${c}`, 5 + 4 * c),
      iou: [0.5, 0.3, 0.75][c % 3]!,
    }));
    const payload = {
      cases: cases.map((c) => ({
        iou: c.iou,
        images: c.images.map((im) => ({
          truth: im.truth.map((b) => [b.x, b.y, b.width, b.height]),
          predictions: im.predictions.map((p) => [p.x, p.y, p.width, p.height, p.score]),
        })),
      })),
    };
    const res = spawnSync(PYTHON, [REFERENCE], { input: JSON.stringify(payload), encoding: 'utf8' });
    expect(res.error, `${PYTHON} with numpy is needed (python3-numpy in .ci/system-deps)`).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout) as {
      cases: Record<
        'allPoint' | 'elevenPoint' | 'positiveAllPoint' | 'positiveElevenPoint' | 'rsnaMap',
        number | null
      >[];
    };
    const same = (ours: number, theirs: number | null, what: string) => {
      if (theirs === null) expect(ours, what).toBeNaN();
      else expect(ours, what).toBeCloseTo(theirs, 12);
    };
    let nonTrivial = 0;
    cases.forEach((c, i) => {
      const r = ref.cases[i]!;
      same(apAt(c.images, c.iou), r.allPoint, `case ${i} all-point`);
      same(apAt(c.images, c.iou, { interpolation: '11-point' }), r.elevenPoint, `case ${i} 11-point`);
      same(positiveApAt(c.images, c.iou), r.positiveAllPoint, `case ${i} positive all-point`);
      same(
        positiveApAt(c.images, c.iou, { interpolation: '11-point' }),
        r.positiveElevenPoint,
        `case ${i} positive 11-point`,
      );
      same(rsnaMeanAP(c.images), r.rsnaMap, `case ${i} rsna`);
      if (r.allPoint !== null && r.allPoint > 0.05 && r.allPoint < 0.95 && r.positiveAllPoint !== r.allPoint)
        nonTrivial++;
    });
    // The cases must exercise the metrics, not sit at 0 or 1 where any implementation agrees.
    expect(nonTrivial).toBeGreaterThan(12);
  });
});
