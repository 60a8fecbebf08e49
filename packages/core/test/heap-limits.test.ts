// The wasm heap above 2 GiB and at its 4 GiB limit. emscripten's _malloc returns addresses above 2 GiB as
// negative numbers: every kernel must treat them as unsigned, or training crashes with a RangeError once the heap
// passes 2 GiB (DenseNet-121 at batch 8 did). The filler is a raw, never-written allocation, so these tests move
// the heap past 2 GiB without touching (or paying for) that memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, ConfigError, initBackend, tf, WasmHeapError, wasmHeapStats } from '../src/index';
import { heapAlloc, heapFree } from '../src/backend/kernels/heap';
import { ptrOf, type WasmBackend } from '../src/backend/kernels/wasm-backend';
import { relErr } from './helpers/numeric';
import { randomTensor } from '../src/testing';

const TWO_GIB = 2 ** 31;

/**
 * A small net that runs through our kernels: 1-channel conv (direct SIMD, split over the helper threads), fused
 * BatchNorm + ReLU, strided conv (XNNPACK forward, GEMM filter gradient, zero-inserted input gradient), max and
 * average pooling gradients, channel concat / slice, bilinear resize gradient, dense; one Adam step.
 * Returns the loss, every gradient and every weight after the step.
 */
function trainOneStep(): Float32Array[] {
  const layers = [
    tf.layers.conv2d({
      filters: 16,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
    }),
    batchNorm({ relu: true }),
    tf.layers.conv2d({
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
    }),
    tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
  ] as const;
  const x = randomTensor([4, 96, 96, 1], 4);
  const labels = tf.tensor2d([1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0], [4, 3]);
  const forward = () => {
    let h = layers[1].apply(layers[0].apply(x), { training: true }) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    const s = layers[2].apply(h) as tf.Tensor4D;
    const mixed = tf.concat(
      [tf.avgPool(s, 2, 2, 'valid'), tf.slice(tf.maxPool(s, 2, 2, 'valid'), [0, 0, 0, 4], [-1, -1, -1, 8])],
      3,
    );
    const up = tf.image.resizeBilinear(mixed, [20, 20]);
    return tf.losses.sigmoidCrossEntropy(labels, layers[3].apply(tf.mean(up, [1, 2])) as tf.Tensor2D);
  };
  tf.tidy(() => {
    forward(); // builds the layers' weights
  });
  const optimizer = tf.train.adam(0.01);
  const { value, grads } = tf.variableGrads(forward as () => tf.Scalar);
  const out = [
    value.dataSync().slice() as Float32Array,
    ...Object.values(grads).map((g) => g.dataSync().slice() as Float32Array),
  ];
  optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
  tf.dispose([value, ...Object.values(grads)]);
  out.push(...layers.flatMap((l) => l.getWeights().map((w) => w.dataSync().slice() as Float32Array)));
  optimizer.dispose();
  for (const l of layers) l.dispose();
  tf.dispose([x, labels]);
  return out;
}

let backend: WasmBackend;

beforeAll(async () => {
  await initBackend('wasm');
  backend = tf.backend() as unknown as WasmBackend;
});

afterAll(() => {
  tf.disposeVariables();
});

describe('wasm heap above 2 GiB', () => {
  const fillers: number[] = [];
  let reference: Float32Array[] = [];

  beforeAll(() => {
    reference = trainOneStep();
    // Take every free block below 2 GiB (the reference step's included), big ones first, so that what the step
    // allocates next lands above it.
    for (const size of [2 ** 20, 4096, 64, 16]) {
      for (;;) {
        const p = heapAlloc(backend, size);
        if (p > TWO_GIB) {
          heapFree(backend, p);
          break;
        }
        fillers.push(p);
      }
    }
  });

  afterAll(() => {
    for (const p of fillers) heapFree(backend, p);
  });

  it('trains a step with every tensor above 2 GiB, with the gradients and weights it has below 2 GiB', () => {
    const probe = tf.zeros([4]);
    expect(ptrOf(backend, probe)).toBeGreaterThan(TWO_GIB);
    probe.dispose();
    const tensorsBefore = tf.memory().numTensors;
    const got = trainOneStep();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(got.length).toBe(reference.length);
    got.forEach((w, i) => expect(relErr(w, reference[i]!), `output ${i}`).toBeLessThan(1e-6));
  });

  it('a full heap throws a WasmHeapError naming the batch that fits, frees what the step held, and the backend goes on', () => {
    const x = tf.fill([4, 256, 256, 128], 0.5) as tf.Tensor4D; // 128 MiB; the conv's output would be 2 GiB
    const filter = tf.fill([1, 1, 128, 2048], 0.01) as tf.Tensor4D;
    const tensorsBefore = tf.memory().numTensors;
    let error: unknown = null;
    try {
      tf.tidy(() => tf.sum(tf.conv2d(x, filter, 1, 'valid')));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WasmHeapError);
    expect(error).toBeInstanceOf(ConfigError);
    const heapError = error as WasmHeapError;
    expect(heapError.shortage.batchSize).toBe(4);
    expect(heapError.fittingBatchSize).toBeGreaterThanOrEqual(0);
    expect(heapError.fittingBatchSize).toBeLessThan(4);
    expect(heapError.message).toMatch(/batchSize: .*4 GiB wasm32 heap.*use batch size <= \d+/);
    expect(heapError.message).not.toMatch(/RangeError/);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    // The heap is intact: an op that fits still computes the right values.
    const y = tf.tidy(() => tf.sum(tf.conv2d(tf.slice(x, [0, 0, 0, 0], [1, 8, 8, 128]), filter, 1, 'valid')));
    const expected = 8 * 8 * 2048 * 128 * 0.5 * 0.01;
    expect(Math.abs(y.dataSync()[0]! - expected) / expected).toBeLessThan(1e-2);
    tf.dispose([x, filter, y]);
  });

  it('reports live and peak tensor bytes of the heap', () => {
    const start = wasmHeapStats({ resetPeak: true })!;
    const t = tf.fill([1024, 1024], 1);
    const mid = wasmHeapStats()!;
    expect(mid.liveBytes - start.liveBytes).toBe(4 * 2 ** 20);
    t.dispose();
    const end = wasmHeapStats()!;
    expect(end.liveBytes).toBe(start.liveBytes);
    expect(end.peakBytes).toBeGreaterThanOrEqual(start.liveBytes + 4 * 2 ** 20);
    expect(end.heapBytes).toBeGreaterThan(TWO_GIB);
    expect(end.limitBytes).toBe(4294901760);
  });
});

describe('WasmHeapError estimate', () => {
  it('uses the peak of a smaller batch that completed a step when there is one', async () => {
    const { fittingBatchSize } = await import('../src/backend/kernels/heap');
    const GiB = 2 ** 30;
    const fromFailure = fittingBatchSize({
      requestedBytes: 0.1 * GiB,
      tensorBytes: 3.9 * GiB,
      variableBytes: 0,
      batchSize: 16,
      reference: null,
    });
    const fromReference = fittingBatchSize({
      requestedBytes: 0.1 * GiB,
      tensorBytes: 3.9 * GiB,
      variableBytes: 0,
      batchSize: 16,
      reference: { batchSize: 4, peakBytes: 1.6 * GiB },
    });
    expect(fromFailure).toBe(14);
    expect(fromReference).toBe(9);
    const error = new WasmHeapError({
      requestedBytes: GiB,
      tensorBytes: 3 * GiB,
      variableBytes: 0,
      batchSize: null,
      reference: null,
    });
    expect(error.fittingBatchSize).toBeNull();
    expect(error.message).toMatch(/received unknown/);
  });
});
