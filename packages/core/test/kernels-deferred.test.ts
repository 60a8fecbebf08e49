// Deferred outputs (the input gradient of a convolution): computed on first read, never when unused, and holding
// their inputs alive until then.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index';
import { pendingOutputs } from '../src/backend/kernels/deferred';
import type { WasmBackend } from '../src/backend/kernels/wasm-backend';
import { randomValues } from './helpers/numeric';

const attrs = {
  strides: [1, 1],
  pad: 'same',
  dataFormat: 'NHWC',
  inputShape: [2, 6, 6, 3],
} as unknown as tf.NamedAttrMap;

beforeAll(async () => {
  await initBackend('wasm');
});

describe('deferred Conv2DBackpropInput', () => {
  it('never computes the input gradient of a layer whose input is not trained (the image)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as WasmBackend;
    const x = tf.tensor4d(randomValues(2 * 6 * 6 * 3, 1), [2, 6, 6, 3]);
    const w = tf.variable(tf.tensor4d(randomValues(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]));
    const wasm = backend.wasm as unknown as { _Conv2D: (...a: number[]) => void };
    const original = wasm._Conv2D;
    let convs = 0;
    wasm._Conv2D = (...a: number[]) => {
      convs++;
      original(...a);
    };
    // On the XNNPACK paths, our input gradient is the one caller of _Conv2D, so the calls can be counted.
    process.env['MULTICHEXNET_GEMM'] = '0';
    try {
      const ids = backend.numDataIds();
      const tensors = tf.memory().numTensors;
      // tf.fused.conv2d (what conv layers run) computes dx and dW in its custom gradient; only dW is needed here.
      // With MULTICHEXNET_GEMM=0 our input gradient is the one caller of _Conv2D (the forward has its own binding).
      const step = () => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same' })) as tf.Scalar,
          [w],
        );
        expect(grads[w.name]!.shape).toEqual([3, 3, 3, 4]);
        tf.dispose([value, grads[w.name]!]);
      };
      step();
      expect(convs).toBe(0);
      expect(pendingOutputs(backend)).toBe(0);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(backend.numDataIds()).toBe(ids);
      // Control: without deferral the same step runs the input gradient.
      process.env['MULTICHEXNET_DEFER'] = '0';
      try {
        step();
      } finally {
        delete process.env['MULTICHEXNET_DEFER'];
      }
      expect(convs).toBe(1);
    } finally {
      delete process.env['MULTICHEXNET_GEMM'];
      wasm._Conv2D = original;
      tf.dispose([x, w]);
    }
  });

  it('computes on first read, even after its inputs were disposed, and matches cpu', async () => {
    const dyv = randomValues(2 * 6 * 6 * 4, 3);
    const fv = randomValues(3 * 3 * 3 * 4, 4);
    await tf.setBackend('cpu');
    const ref = tf
      .tidy(
        () =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy: tf.tensor4d(dyv, [2, 6, 6, 4]), filter: tf.tensor4d(fv, [3, 3, 3, 4]) },
              attrs,
            ) as tf.Tensor,
      )
      .dataSync()
      .slice();
    await tf.setBackend('wasm');
    const backend = tf.backend() as WasmBackend;
    const ids = backend.numDataIds();
    const dy = tf.tensor4d(dyv, [2, 6, 6, 4]);
    const filter = tf.tensor4d(fv, [3, 3, 3, 4]);
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs) as tf.Tensor;
    expect(pendingOutputs(backend)).toBe(1);
    dy.dispose();
    filter.dispose();
    const got = dx.dataSync();
    expect(pendingOutputs(backend)).toBe(0);
    let err = 0;
    for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    expect(err).toBeLessThan(1e-4);
    dx.dispose();
    expect(backend.numDataIds()).toBe(ids);
  });

  it('releases its inputs when disposed unread', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as WasmBackend;
    const ids = backend.numDataIds();
    const dy = tf.tensor4d(randomValues(2 * 6 * 6 * 4, 5), [2, 6, 6, 4]);
    const filter = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]);
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs) as tf.Tensor;
    tf.dispose([dy, filter]);
    expect(backend.numDataIds()).toBe(ids + 3); // dx's entry, and dy and filter kept alive for it
    dx.dispose();
    expect(pendingOutputs(backend)).toBe(0);
    expect(backend.numDataIds()).toBe(ids);
    expect(tf.memory().numDataBuffers).toBeGreaterThanOrEqual(0);
  });

  it('feeds a following op (reshape shares the buffer; the next kernel triggers the computation)', async () => {
    await tf.setBackend('wasm');
    const dy = tf.tensor4d(randomValues(2 * 6 * 6 * 4, 7), [2, 6, 6, 4]);
    const filter = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
    const total = tf.tidy(() => {
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs) as tf.Tensor;
      return tf.sum(tf.reshape(dx, [-1])).dataSync()[0]!;
    });
    await tf.setBackend('cpu');
    const ref = tf.tidy(
      () =>
        tf
          .sum(
            tf
              .engine()
              .runKernel('Conv2DBackpropInput', { dy: tf.clone(dy), filter: tf.clone(filter) }, attrs) as tf.Tensor,
          )
          .dataSync()[0]!,
    );
    expect(total).toBeCloseTo(ref, 3);
    tf.dispose([dy, filter]);
  });
});
