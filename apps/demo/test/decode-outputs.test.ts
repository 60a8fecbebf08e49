import { fitBoxes, fitMask, fitTransform } from '@multichexnet/data';
import { describe, expect, it } from 'vitest';
import { decodeBoxes, decodeMask } from '../src/engine/decode-outputs';

const S = 256;
const settings = { scoreThreshold: 0.25, nmsIoU: 0.5, maxDetections: 10 };
const identity = fitTransform(S, S, { size: S, fit: 'letterbox' });

/** det_boxes [N, 4] and det_scores [N] as the graph returns them. */
function graphOutputs(boxes: { x: number; y: number; width: number; height: number; score: number }[]) {
  return {
    boxes: Float32Array.from(boxes.flatMap((b) => [b.x, b.y, b.width, b.height])),
    scores: Float32Array.from(boxes.map((b) => b.score)),
  };
}

describe('decodeBoxes (single-graph det outputs)', () => {
  it('keeps boxes above the threshold, best first, and suppresses overlaps above the NMS IoU', () => {
    const a = { x: 10, y: 10, width: 100, height: 100, score: 0.9 };
    const b = { x: 20, y: 20, width: 100, height: 100, score: 0.8 }; // IoU with a = 8100 / 11900 > 0.5
    const c = { x: 150, y: 150, width: 50, height: 50, score: 0.6 };
    const d = { x: 0, y: 150, width: 50, height: 50, score: 0.1 };
    const { boxes, scores } = graphOutputs([c, b, d, a]);
    const out = decodeBoxes(boxes, scores, settings, identity);
    expect(out.map((o) => o.score)).toEqual([Math.fround(0.9), Math.fround(0.6)]);
    expect(out[0]).toMatchObject({ x: 10, y: 10, width: 100, height: 100 });
  });

  it('keeps an overlapping box when its IoU is at or below the NMS threshold', () => {
    const a = { x: 0, y: 0, width: 100, height: 100, score: 0.9 };
    const b = { x: 50, y: 0, width: 100, height: 100, score: 0.8 }; // IoU = 5000 / 15000
    const { boxes, scores } = graphOutputs([a, b]);
    expect(decodeBoxes(boxes, scores, settings, identity)).toHaveLength(2);
    expect(decodeBoxes(boxes, scores, { ...settings, nmsIoU: 0.3 }, identity)).toHaveLength(1);
  });

  it('caps the count at maxDetections and breaks score ties by graph order', () => {
    const many = Array.from({ length: 6 }, (_, i) => ({ x: i * 40, y: 0, width: 30, height: 30, score: 0.5 }));
    const { boxes, scores } = graphOutputs(many);
    const out = decodeBoxes(boxes, scores, { ...settings, maxDetections: 3 }, identity);
    expect(out.map((o) => o.x)).toEqual([0, 40, 80]);
  });

  it('returns no boxes for empty outputs, NaN scores and empty boxes', () => {
    expect(decodeBoxes(new Float32Array(0), new Float32Array(0), settings, identity)).toEqual([]);
    const { boxes, scores } = graphOutputs([
      { x: 0, y: 0, width: 10, height: 10, score: Number.NaN },
      { x: 0, y: 0, width: 0, height: 10, score: 0.9 },
      { x: 0, y: 0, width: 10, height: Number.NaN, score: 0.9 },
    ]);
    expect(decodeBoxes(boxes, scores, settings, identity)).toEqual([]);
  });

  it('maps boxes back through a letterbox fit onto the original image', () => {
    const t = fitTransform(1024, 512, { size: S, fit: 'letterbox' });
    const original = [{ x: 300, y: 100, width: 200, height: 120, label: 'Pneumonia' as const }];
    const inModel = fitBoxes(original, t).map((b) => ({ ...b, score: 0.7 }));
    const { boxes, scores } = graphOutputs(inModel);
    const [back] = decodeBoxes(boxes, scores, settings, t);
    expect(back!.x).toBeCloseTo(300, 3);
    expect(back!.y).toBeCloseTo(100, 3);
    expect(back!.width).toBeCloseTo(200, 3);
    expect(back!.height).toBeCloseTo(120, 3);
  });
});

describe('decodeMask (single-graph seg output)', () => {
  it('crops the letterbox window, thresholds, and reports the foreground share', () => {
    const width = 512;
    const height = 256;
    const t = fitTransform(width, height, { size: S, fit: 'letterbox' });
    const truth = new Uint8Array(width * height);
    for (let y = 64; y < 192; y++) for (let x = 128; x < 256; x++) truth[y * width + x] = 1;
    const fitted = fitMask({ width, height, data: truth }, t, { size: S });
    const probs = Float32Array.from(fitted, (v) => (v ? 0.9 : 0.1));
    // Foreground in the padding must not count: it is not part of the image.
    probs[0] = 0.99;
    const mask = decodeMask(probs, S, t, 0.5);
    expect(mask.width).toBe(Math.round(width * t.scaleX));
    expect(mask.height).toBe(Math.round(height * t.scaleY));
    for (let y = 0; y < mask.height; y++) {
      for (let x = 0; x < mask.width; x++) expect(mask.data[y * mask.width + x]).toBe(fitted[(y + t.offsetY) * S + x + t.offsetX]);
    }
    const truthShare = truth.reduce((a, v) => a + v, 0) / truth.length;
    expect(mask.areaFraction).toBeCloseTo(truthShare, 3);
  });

  it('gives an empty mask for all-background and NaN probabilities', () => {
    const probs = new Float32Array(S * S).fill(0.2);
    probs.fill(Number.NaN, 0, 1000);
    const mask = decodeMask(probs, S, identity, 0.5);
    expect(mask.width * mask.height).toBe(S * S);
    expect(mask.areaFraction).toBe(0);
  });
});
