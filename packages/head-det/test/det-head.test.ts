import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, initBackend, tf, type Box } from '@multichexnet/core';
import {
  createDetHead,
  decodeDetections,
  disposeDetTargets,
  DET_HEAD_CLASS_NAME,
  RSNA_ANCHORS,
  type DetHead,
  type DetTargets,
} from '../src/index';
import {
  SMALL_FEATURE_CHANNELS as CHANNELS,
  disposeFeatures,
  headLeak,
  maxGradError,
  randomFeatures,
  randomTensor,
  blockContract,
  blockContractHolds,
} from '@multichexnet/core/testing';

const small = { featureChannels: CHANNELS, hiddenChannels: 8, hiddenLayers: 1, seed: 3 };
let dir: string;

beforeAll(async () => {
  await initBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'chexdet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/** The loss formula of the README written again with plain loops, as an independent reference. */
function referenceLoss(head: DetHead, t: DetTargets, out: tf.Tensor4D, extraMask?: number[]): number {
  const { coordWeight, objectWeight, noObjectWeight, ignoreIoU } = head.config.loss;
  const [B, S, Sw] = t.objectness.shape;
  const K = head.anchors.length;
  const raw = out.dataSync();
  const obj = t.objectness.dataSync();
  const tb = t.box.dataSync();
  const truth = t.truth.arraySync();
  const mask = t.mask.dataSync();
  let total = 0;
  let count = 0;
  for (let b = 0; b < B; b++) {
    const m = mask[b]! * (extraMask?.[b] ?? 1);
    let bad = false;
    for (let a = 0; a < S * Sw * K; a++) if (Number.isNaN(obj[b * S * Sw * K + a]!)) bad = true;
    if (m === 0 || bad) continue;
    count++;
    for (let row = 0; row < S; row++) {
      for (let col = 0; col < Sw; col++) {
        for (let k = 0; k < K; k++) {
          const a = ((b * S + row) * Sw + col) * K + k;
          const r = raw.subarray(a * 5, a * 5 + 5);
          const o = obj[a]!;
          const logit = r[4]!;
          const bce = -(o * Math.log(sig(logit)) + (1 - o) * Math.log(1 - sig(logit)));
          if (o === 1) {
            const p = [sig(r[0]!), sig(r[1]!), r[2]!, r[3]!];
            let se = 0;
            for (let j = 0; j < 4; j++) se += (p[j]! - tb[a * 4 + j]!) ** 2;
            total += coordWeight * se + objectWeight * bce;
          } else {
            let ignored = false;
            if (ignoreIoU !== null) {
              const cx = (col + sig(r[0]!)) / Sw;
              const cy = (row + sig(r[1]!)) / S;
              const w = head.anchors[k]!.width * Math.exp(r[2]!);
              const h = head.anchors[k]!.height * Math.exp(r[3]!);
              for (const [x1, y1, x2, y2] of truth[b]!) {
                const iw = Math.min(cx + w / 2, x2!) - Math.max(cx - w / 2, x1!);
                const ih = Math.min(cy + h / 2, y2!) - Math.max(cy - h / 2, y1!);
                const inter = iw > 0 && ih > 0 ? iw * ih : 0;
                const iou = inter / (w * h + (x2! - x1!) * (y2! - y1!) - inter);
                if (iou >= ignoreIoU) ignored = true;
              }
            }
            if (!ignored) total += noObjectWeight * bce;
          }
        }
      }
    }
  }
  return total / Math.max(1, count);
}

describe('createDetHead', () => {
  it('maps c5 features to [B, S, S, K*5] with the RSNA anchors by default', () => {
    const head = createDetHead(small);
    expect(head.className).toBe(DET_HEAD_CLASS_NAME);
    expect(head.task).toBe('det');
    expect(head.config.level).toBe('c5');
    expect(head.anchors).toEqual(RSNA_ANCHORS);
    expect(head.stride).toBe(32);
    const f = randomFeatures(2, 128, 1);
    const out = head.apply(f);
    expect(out.shape).toEqual([2, 4, 4, 25]);
    tf.dispose(out);
    disposeFeatures(f);
    head.dispose();
  });

  it('sits on c4 with custom anchors, and builds symbolically', () => {
    const head = createDetHead({ ...small, level: 'c4', anchors: [{ width: 0.1, height: 0.2 }] });
    const f = randomFeatures(1, 64, 2);
    const out = head.apply(f);
    expect(out.shape).toEqual([1, 4, 4, 5]);
    const sym = head.apply({
      c2: tf.input({ shape: [16, 16, CHANNELS.c2] }),
      c3: tf.input({ shape: [8, 8, CHANNELS.c3] }),
      c4: tf.input({ shape: [4, 4, CHANNELS.c4] }),
      c5: tf.input({ shape: [2, 2, CHANNELS.c5] }),
    });
    expect(sym.shape).toEqual([null, 4, 4, 5]);
    tf.dispose(out);
    disposeFeatures(f);
    head.dispose();
  });

  it('starts every objectness at the prior probability', () => {
    const head = createDetHead({ ...small, priorProbability: 0.05 });
    const f = randomFeatures(1, 64, 3);
    const out = head.apply(f);
    const v = out.dataSync();
    for (let i = 4; i < v.length; i += 5) expect(Math.abs(sig(v[i]!) - 0.05)).toBeLessThan(0.02);
    tf.dispose(out);
    disposeFeatures(f);
    head.dispose();
  });

  it('rejects bad configs with a ConfigError naming the field', () => {
    expect(() => createDetHead({ featureChannels: CHANNELS, level: 'c3' as 'c4' })).toThrow(
      /level: must be one of "c5", "c4"/,
    );
    expect(() => createDetHead({ featureChannels: CHANNELS, anchors: [] })).toThrow(ConfigError);
    expect(() => createDetHead({ featureChannels: CHANNELS, anchors: [{ width: 0, height: 0.2 }] })).toThrow(
      /anchors\.0\.width/,
    );
    expect(() => createDetHead({ featureChannels: { ...CHANNELS, c5: -1 } })).toThrow(/featureChannels\.c5/);
    expect(() => createDetHead({ featureChannels: CHANNELS, loss: { coordWeight: -1 } })).toThrow(/loss\.coordWeight/);
    expect(() => createDetHead({ featureChannels: CHANNELS, name: 'a/b' })).toThrow(/name/);
  });

  it('rejects features of the wrong width with a DataError', () => {
    const head = createDetHead(small);
    const f = randomFeatures(1, 64, 4, { channels: { ...CHANNELS, c5: 5 } });
    expect(() => head.apply(f)).toThrow(DataError);
    disposeFeatures(f);
    head.dispose();
  });

  it('is deterministic per seed and round-trips its config (registry) and weights (.safetensors file, bytes)', async () => {
    const f = randomFeatures(1, 64, 5);
    const facts = await blockContract((seed) => createDetHead({ ...small, seed }), f, join(dir, 'det.safetensors'));
    expect(facts).toEqual(blockContractHolds('head-det/DetHead'));
    disposeFeatures(f);
  });

  it('does not leak in apply, loss, gradient and decode', () => {
    const head = createDetHead(small);
    const f = randomFeatures(2, 64, 7);
    const t = head.encodeTargets([[{ x: 5, y: 5, width: 30, height: 40 }], []], 64);
    expect(headLeak(head, f, t)).toBe(0);
    disposeDetTargets(t);
    disposeFeatures(f);
    head.dispose();
  });
});

describe('detLoss', () => {
  const boxes: (Box[] | null)[] = [
    [
      { x: 10, y: 8, width: 30, height: 44 },
      { x: 70, y: 60, width: 40, height: 50 },
    ],
    [],
    [{ x: 40, y: 30, width: 60, height: 90 }],
  ];

  it('equals the formula computed with plain loops (with and without the ignore rule)', () => {
    for (const ignoreIoU of [null, 0.3]) {
      const head = createDetHead({ ...small, loss: { ignoreIoU } });
      const t = head.encodeTargets(boxes, 128);
      const out = randomTensor([3, 4, 4, 25], 21) as tf.Tensor4D;
      const loss = head.loss(t, out);
      expect(loss.dataSync()[0]).toBeCloseTo(referenceLoss(head, t, out), 3);
      tf.dispose([loss, out]);
      disposeDetTargets(t);
      head.dispose();
    }
  });

  it('the ignore rule removes the objectness loss of unmatched anchors that already cover a truth box', () => {
    const withRule = createDetHead({ ...small, loss: { ignoreIoU: 0.3 } });
    const without = createDetHead({ ...small, loss: { ignoreIoU: null } });
    const t = withRule.encodeTargets(boxes, 128);
    const out = randomTensor([3, 4, 4, 25], 22) as tf.Tensor4D;
    const a = withRule.loss(t, out).dataSync()[0]!;
    const b = without.loss(t, out).dataSync()[0]!;
    expect(a).toBeLessThan(b);
    tf.dispose(out);
    disposeDetTargets(t);
    withRule.dispose();
    without.dispose();
  });

  it('has the gradient of its finite differences', () => {
    const head = createDetHead({
      ...small,
      anchors: [
        { width: 0.2, height: 0.3 },
        { width: 0.4, height: 0.4 },
      ],
      loss: { ignoreIoU: null },
    });
    const t = head.encodeTargets(
      [
        [
          { x: 4, y: 6, width: 20, height: 30 },
          { x: 40, y: 36, width: 22, height: 20 },
        ],
        [],
      ],
      64,
    );
    const out = randomTensor([2, 2, 2, 10], 23);
    const err = maxGradError((o) => head.loss(t, o as tf.Tensor4D), out);
    expect(err).toBeLessThan(5e-3);
    // and with a per-sample mask that switches the second image off
    const mask = tf.tensor1d([1, 0]);
    expect(maxGradError((o) => head.loss(t, o as tf.Tensor4D, mask), out)).toBeLessThan(5e-3);
    tf.dispose([out, mask]);
    disposeDetTargets(t);
    head.dispose();
  });

  it('all-negative batch: only the objectness term, decreasing as logits go down', () => {
    const head = createDetHead(small);
    const t = head.encodeTargets([[], []], 64);
    const low = tf.fill([2, 2, 2, 25], -3) as tf.Tensor4D;
    const high = tf.fill([2, 2, 2, 25], 3) as tf.Tensor4D;
    const l1 = head.loss(t, low).dataSync()[0]!;
    const l2 = head.loss(t, high).dataSync()[0]!;
    // 4 cells x 5 anchors, each noObjectWeight * softplus(logit)
    expect(l1).toBeCloseTo(20 * 0.5 * Math.log1p(Math.exp(-3)), 4);
    expect(l2).toBeCloseTo(20 * 0.5 * Math.log1p(Math.exp(3)), 4);
    tf.dispose([low, high]);
    disposeDetTargets(t);
    head.dispose();
  });

  it('all-masked batch: loss 0 with finite zero gradients, NaN targets included', () => {
    const head = createDetHead(small);
    const t = head.encodeTargets([null, [{ x: 1, y: 1, width: 20, height: 20 }]], 64);
    const out = randomTensor([2, 2, 2, 25], 24) as tf.Tensor4D;
    const mask = tf.tensor1d([1, 0]); // image 0 has no label (NaN), image 1 is masked by the caller
    const loss = head.loss(t, out, mask);
    expect(loss.dataSync()[0]).toBe(0);
    const g = tf.grad((o: tf.Tensor) => head.loss(t, o as tf.Tensor4D, mask))(out);
    expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([out, mask, loss, g]);
    disposeDetTargets(t);
    head.dispose();
  });

  it('an unlabelled (NaN) image adds nothing: same loss as the labelled images alone', () => {
    const head = createDetHead(small);
    const both = head.encodeTargets([[{ x: 1, y: 1, width: 20, height: 20 }], null], 64);
    const one = head.encodeTargets([[{ x: 1, y: 1, width: 20, height: 20 }]], 64);
    const out = randomTensor([2, 2, 2, 25], 25) as tf.Tensor4D;
    const first = tf.slice(out, [0, 0, 0, 0], [1, 2, 2, 25]);
    expect(head.loss(both, out).dataSync()[0]).toBeCloseTo(head.loss(one, first).dataSync()[0]!, 5);
    const g = tf
      .grad((o: tf.Tensor) => head.loss(both, o as tf.Tensor4D))(out)
      .dataSync();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    expect(Array.from(g.slice(100)).every((v) => v === 0)).toBe(true); // image 1: 2 x 2 x 25 values
    expect(Array.from(g.slice(0, 100)).some((v) => v !== 0)).toBe(true);
    tf.dispose([out, first]);
    disposeDetTargets(both);
    disposeDetTargets(one);
    head.dispose();
  });

  it('NaN predictions give a NaN loss (a diverged model is not hidden)', () => {
    const head = createDetHead(small);
    const t = head.encodeTargets([[]], 64);
    const out = tf.fill([1, 2, 2, 25], Number.NaN) as tf.Tensor4D;
    expect(head.loss(t, out).dataSync()[0]).toBeNaN();
    tf.dispose(out);
    disposeDetTargets(t);
    head.dispose();
  });

  it('checks that output and targets agree in shape', () => {
    const head = createDetHead(small);
    const t = head.encodeTargets([[]], 64);
    const out = tf.zeros([1, 4, 4, 25]) as tf.Tensor4D;
    expect(() => head.loss(t, out)).toThrow(/det output/);
    tf.dispose(out);
    disposeDetTargets(t);
    head.dispose();
  });
});

describe('decode', () => {
  /** Raw output that encodes given boxes: the inverse of the decoding formulas. */
  function rawFor(
    head: DetHead,
    S: number,
    entries: { row: number; col: number; k: number; cx: number; cy: number; w: number; h: number; score: number }[],
  ): tf.Tensor4D {
    const K = head.anchors.length;
    const v = new Float32Array(S * S * K * 5).fill(0);
    for (let i = 4; i < v.length; i += 5) v[i] = -20;
    const logit = (p: number): number => Math.log(p / (1 - p));
    for (const e of entries) {
      const o = ((e.row * S + e.col) * K + e.k) * 5;
      v[o] = logit(e.cx * S - e.col);
      v[o + 1] = logit(e.cy * S - e.row);
      v[o + 2] = Math.log(e.w / head.anchors[e.k]!.width);
      v[o + 3] = Math.log(e.h / head.anchors[e.k]!.height);
      v[o + 4] = logit(e.score);
    }
    return tf.tensor4d(v, [1, S, S, K * 5]);
  }

  it('inverts the parameterisation, thresholds, applies NMS and clips to the image', () => {
    const head = createDetHead(small);
    const out = rawFor(head, 4, [
      { row: 1, col: 2, k: 1, cx: 0.6, cy: 0.3, w: 0.2, h: 0.3, score: 0.9 },
      { row: 1, col: 2, k: 2, cx: 0.61, cy: 0.3, w: 0.2, h: 0.3, score: 0.8 }, // duplicate, suppressed
      { row: 3, col: 0, k: 0, cx: 0.05, cy: 0.9, w: 0.3, h: 0.4, score: 0.7 }, // sticks out left and bottom
      { row: 0, col: 0, k: 0, cx: 0.1, cy: 0.1, w: 0.1, h: 0.1, score: 0.1 }, // below threshold
    ]);
    const [boxes] = head.decode(out, { imageSize: 1000, scoreThreshold: 0.25 });
    expect(boxes).toHaveLength(2);
    expect(boxes![0]!.score).toBeCloseTo(0.9, 5);
    expect(boxes![0]!.x).toBeCloseTo(500, 2);
    expect(boxes![0]!.y).toBeCloseTo(150, 2);
    expect(boxes![0]!.width).toBeCloseTo(200, 2);
    expect(boxes![0]!.height).toBeCloseTo(300, 2);
    expect(boxes![1]!.x).toBe(0);
    expect(boxes![1]!.width).toBeCloseTo(200, 2); // 0.05 + 0.15 = 0.2 of 1000
    expect(boxes![1]!.y + boxes![1]!.height).toBeCloseTo(1000, 2);
    // default image size = grid x stride = 128; maxDetections
    const [def] = head.decode(out, { scoreThreshold: 0.05, maxDetections: 1 });
    expect(def).toHaveLength(1);
    expect(def![0]!.width).toBeCloseTo(0.2 * 128, 2);
    tf.dispose(out);
    head.dispose();
  });

  it('decodes plain data with dims (onnxruntime output) exactly as the tensor', () => {
    const head = createDetHead(small);
    const out = randomTensor([2, 2, 2, 25], 40, 2) as tf.Tensor4D;
    const plain = { data: out.dataSync().slice(), dims: out.shape };
    expect(decodeDetections(plain, head.config, { scoreThreshold: 0.3 })).toEqual(
      head.decode(out, { scoreThreshold: 0.3 }),
    );
    expect(() => decodeDetections({ data: new Float32Array(10), dims: [1, 2, 2, 25] }, head.config)).toThrow(DataError);
    tf.dispose(out);
    head.dispose();
  });

  it('gives no boxes for an all-negative output and one list per image', () => {
    const head = createDetHead(small);
    const out = tf.fill([3, 2, 2, 25], -10) as tf.Tensor4D;
    expect(head.decode(out)).toEqual([[], [], []]);
    tf.dispose(out);
    head.dispose();
  });

  it('round-trips encodeTargets -> perfect logits -> decode', () => {
    const head = createDetHead(small);
    const truth = [
      { x: 20, y: 12, width: 40, height: 70 },
      { x: 140, y: 150, width: 60, height: 80 },
    ];
    const t = head.encodeTargets([truth], 256);
    const out = tf.tidy(() => {
      const logit = (p: tf.Tensor): tf.Tensor => tf.log(tf.div(p, tf.sub(1, p)));
      const box = tf.clipByValue(t.box, 1e-4, 1 - 1e-4);
      const [bx, ,] = tf.split(box, [2, 2], 4);
      const [, bwh] = tf.split(t.box, [2, 2], 4);
      const obj = tf.expandDims(tf.sub(tf.mul(t.objectness, 40), 20), 4);
      return tf.reshape(tf.concat([logit(bx!), bwh!, obj], 4), [1, 8, 8, 25]) as tf.Tensor4D;
    });
    const [boxes] = head.decode(out);
    expect(boxes).toHaveLength(2);
    const sorted = boxes!.slice().sort((a, b) => a.x - b.x);
    sorted.forEach((b, i) => {
      expect(b.x).toBeCloseTo(truth[i]!.x, 2);
      expect(b.y).toBeCloseTo(truth[i]!.y, 2);
      expect(b.width).toBeCloseTo(truth[i]!.width, 2);
      expect(b.height).toBeCloseTo(truth[i]!.height, 2);
    });
    tf.dispose(out);
    disposeDetTargets(t);
    head.dispose();
  });
});
