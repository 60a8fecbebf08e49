import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, createRng, initBackend, tf } from '@multichexnet/core';
import { maskedBinaryCrossEntropy, positiveWeightsFromLabels, type MaskedBceOptions } from '../src/index';

/** Reference in float64, written from the definition -w+ y log(sigmoid z) - w- (1 - y) log(1 - sigmoid z). */
function referenceLoss(
  labels: number[][],
  logits: number[][],
  opts: { pos?: number[]; neg?: number[]; mask?: number[] } = {},
): number {
  let total = 0;
  let count = 0;
  labels.forEach((row, b) => {
    row.forEach((y, c) => {
      if (!(y >= 0) || (opts.mask !== undefined && opts.mask[b] === 0)) return;
      const p = 1 / (1 + Math.exp(-logits[b]![c]!));
      total += -(opts.pos?.[c] ?? 1) * y * Math.log(p) - (opts.neg?.[c] ?? 1) * (1 - y) * Math.log(1 - p);
      count++;
    });
  });
  return count === 0 ? 0 : total / count;
}

function randomMatrix(
  seed: string,
  rows: number,
  cols: number,
  f: (r: ReturnType<typeof createRng>) => number,
): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => f(rng)));
}

type BceCase = Omit<MaskedBceOptions, 'mask'> & { mask?: number[] };

/** The masked BCE against `labels` as a function of the logits; call it inside a tidy. */
function bceOf(labels: number[][], opts: BceCase): (z: tf.Tensor) => tf.Scalar {
  const y = tf.tensor2d(labels);
  const mask = opts.mask === undefined ? undefined : tf.tensor1d(opts.mask);
  return (z) => maskedBinaryCrossEntropy(y, z as tf.Tensor2D, { ...opts, mask });
}

function lossValue(labels: number[][], logits: number[][], opts: BceCase = {}): number {
  return tf.tidy(() => bceOf(labels, opts)(tf.tensor2d(logits)).dataSync()[0]!);
}

function logitGrad(labels: number[][], logits: number[][], opts: BceCase = {}): Float32Array {
  return tf.tidy(() => tf.grad(bceOf(labels, opts))(tf.tensor2d(logits)).dataSync() as Float32Array);
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('maskedBinaryCrossEntropy', () => {
  const labels = randomMatrix('labels', 5, 4, (r) => (r.bernoulli(0.4) ? 1 : 0));
  const logits = randomMatrix('logits', 5, 4, (r) => r.normal(0, 2));

  it('equals the definition, and tfjs sigmoidCrossEntropy when nothing is masked', () => {
    expect(lossValue(labels, logits)).toBeCloseTo(referenceLoss(labels, logits), 5);
    const tfjs = tf.tidy(() => tf.losses.sigmoidCrossEntropy(tf.tensor2d(labels), tf.tensor2d(logits)).dataSync()[0]!);
    expect(lossValue(labels, logits)).toBeCloseTo(tfjs, 5);
  });

  it('stays finite and exact for huge logits', () => {
    const y = [[1, 0, 1, 0]];
    const z = [[100, 100, -100, -100]];
    // per entry: softplus(-100) ~ 3.7e-44, softplus(100) = 100, softplus(100) = 100, softplus(-100) ~ 0
    expect(lossValue(y, z)).toBeCloseTo((0 + 100 + 100 + 0) / 4, 4);
    expect(Array.from(logitGrad(y, z)).every(Number.isFinite)).toBe(true);
  });

  it('ignores NaN and -1 labels (not annotated), as if those entries were absent', () => {
    const partial = labels.map((row, b) => row.map((v, c) => ((b + c) % 3 === 0 ? NaN : (b * c) % 5 === 1 ? -1 : v)));
    expect(lossValue(partial, logits)).toBeCloseTo(referenceLoss(partial, logits), 5);
    // Changing the logits of unannotated entries changes nothing.
    const moved = logits.map((row, b) => row.map((v, c) => ((b + c) % 3 === 0 ? v + 7 : v)));
    expect(lossValue(partial, moved)).toBeCloseTo(lossValue(partial, logits), 6);
    const g = logitGrad(partial, logits);
    partial.forEach((row, b) =>
      row.forEach((v, c) => {
        if (!(v >= 0)) expect(g[b * 4 + c]).toBe(0);
      }),
    );
  });

  it('switches whole samples off with the mask', () => {
    const mask = [1, 0, 1, 1, 0];
    const kept = labels.filter((_, b) => mask[b] === 1);
    const keptLogits = logits.filter((_, b) => mask[b] === 1);
    expect(lossValue(labels, logits, { mask })).toBeCloseTo(referenceLoss(kept, keptLogits), 5);
  });

  it('gives loss 0 and zero (not NaN) gradients for an all-masked or all-unannotated batch', () => {
    for (const [y, mask] of [
      [labels, [0, 0, 0, 0, 0]],
      [labels.map((r) => r.map(() => NaN)), undefined],
    ] as const) {
      expect(lossValue(y as number[][], logits, { mask: mask as number[] | undefined })).toBe(0);
      const g = logitGrad(y as number[][], logits, { mask: mask as number[] | undefined });
      expect(Array.from(g).every((v) => v === 0)).toBe(true);
    }
  });

  it('handles an all-negative batch: loss = mean softplus(z), gradient = sigmoid(z) / n', () => {
    const zeros = labels.map((r) => r.map(() => 0));
    const n = 20;
    const expected = logits.flat().reduce((s, z) => s + Math.log1p(Math.exp(z)), 0) / n;
    expect(lossValue(zeros, logits)).toBeCloseTo(expected, 5);
    const g = logitGrad(zeros, logits);
    logits.flat().forEach((z, i) => expect(g[i]).toBeCloseTo(1 / (1 + Math.exp(-z)) / n, 6));
  });

  it('applies positive and negative class weights', () => {
    const pos = [2, 0.5, 1, 3];
    const neg = [0.25, 1, 2, 1];
    expect(lossValue(labels, logits, { posWeights: pos, negWeights: neg })).toBeCloseTo(
      referenceLoss(labels, logits, { pos, neg }),
      5,
    );
  });

  it('has the analytic gradient (w+ y (s - 1) + w- (1 - y) s) / n and agrees with finite differences', () => {
    const partial = labels.map((row, b) => row.map((v, c) => (b === 2 && c === 1 ? NaN : v)));
    const pos = [2, 0.5, 1, 3];
    const neg = [0.25, 1, 2, 1];
    const mask = [1, 1, 1, 0, 1];
    const opts = { posWeights: pos, negWeights: neg, mask };
    const g = logitGrad(partial, logits, opts);
    let n = 0;
    partial.forEach((row, b) => row.forEach((y) => (y >= 0 && mask[b] === 1 ? n++ : 0)));
    const eps = 1e-2;
    partial.forEach((row, b) =>
      row.forEach((y, c) => {
        const z = logits[b]![c]!;
        const s = 1 / (1 + Math.exp(-z));
        const analytic = y >= 0 && mask[b] === 1 ? (pos[c]! * y * (s - 1) + neg[c]! * (1 - y) * s) / n : 0;
        expect(g[b * 4 + c], `analytic ${b},${c}`).toBeCloseTo(analytic, 6);
        // Central difference of the float64 reference (no float32 cancellation in the difference itself).
        const plus = logits.map((r, i) => r.map((v, j) => (i === b && j === c ? v + eps : v)));
        const minus = logits.map((r, i) => r.map((v, j) => (i === b && j === c ? v - eps : v)));
        const fd =
          (referenceLoss(partial, plus, { pos, neg, mask }) - referenceLoss(partial, minus, { pos, neg, mask })) /
          (2 * eps);
        expect(Math.abs(g[b * 4 + c]! - fd), `fd ${b},${c}`).toBeLessThan(1e-4 + 1e-3 * Math.abs(fd));
      }),
    );
  });

  it('also matches finite differences of its own float32 forward pass', () => {
    const eps = 5e-2;
    const g = logitGrad(labels, logits);
    for (const [b, c] of [
      [0, 0],
      [1, 3],
      [4, 2],
    ] as const) {
      const plus = logits.map((r, i) => r.map((v, j) => (i === b && j === c ? v + eps : v)));
      const minus = logits.map((r, i) => r.map((v, j) => (i === b && j === c ? v - eps : v)));
      const fd = (lossValue(labels, plus) - lossValue(labels, minus)) / (2 * eps);
      expect(Math.abs(g[b * 4 + c]! - fd)).toBeLessThan(2e-3);
    }
  });

  it('propagates NaN logits into the loss instead of hiding them', () => {
    const z = logits.map((r) => r.slice());
    z[0]![0] = NaN;
    expect(lossValue(labels, z)).toBeNaN();
  });

  it('refuses mismatched shapes with a DataError naming the tensor', () => {
    expect(() => lossValue(labels, logits.slice(0, 4))).toThrow(DataError);
    expect(() => lossValue(labels, logits.slice(0, 4))).toThrow(/field labels\): expected \[4, 4\], found \[5, 4\]/);
    expect(() => lossValue(labels, logits, { mask: [1, 1] })).toThrow(/field mask\): expected \[5\], found \[2\]/);
    expect(() => lossValue(labels, logits, { posWeights: [1, 2] })).toThrow(
      /field posWeights\): expected \[4\], found \[2\]/,
    );
  });

  it('does not leak tensors', () => {
    const y = tf.tensor2d(labels);
    const z = tf.tensor2d(logits);
    const mask = tf.tensor1d([1, 0, 1, 1, 1]);
    const before = tf.memory().numTensors;
    const loss = maskedBinaryCrossEntropy(y, z, { mask, posWeights: [1, 2, 3, 4], negWeights: [1, 1, 1, 1] });
    loss.dispose();
    const g = tf.grad((t: tf.Tensor) => maskedBinaryCrossEntropy(y, t as tf.Tensor2D, { mask }))(z);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const t of [y, z, mask]) t.dispose();
  });
});

describe('positiveWeightsFromLabels', () => {
  it('gives CheXNet weights w+ = N-/N and w- = N+/N per class over annotated labels', () => {
    const w = positiveWeightsFromLabels([
      [1, 0, NaN],
      [0, 0, NaN],
      [0, NaN, NaN],
      [0, 1, NaN],
    ]);
    expect(w.posWeights).toEqual([3 / 4, 2 / 3, 1]);
    expect(w.negWeights).toEqual([1 / 4, 1 / 3, 1]);
  });

  it('balances the two terms: for every class w+ * N+ equals w- * N-', () => {
    const labels = randomMatrix('balance', 200, 5, (r) =>
      r.bernoulli(0.1) ? NaN : r.bernoulli(0.05 + 0.2 * r.next()) ? 1 : 0,
    );
    const w = positiveWeightsFromLabels(labels);
    for (let c = 0; c < 5; c++) {
      const pos = labels.filter((r) => r[c] === 1).length;
      const neg = labels.filter((r) => r[c] === 0).length;
      expect(w.posWeights[c]! * pos).toBeCloseTo(w.negWeights[c]! * neg, 9);
    }
  });

  it('refuses empty or ragged label matrices', () => {
    expect(() => positiveWeightsFromLabels([])).toThrow(DataError);
    expect(() => positiveWeightsFromLabels([[1, 0], [1]])).toThrow(/row 2, field labels\): expected 2 values, found 1/);
  });
});
