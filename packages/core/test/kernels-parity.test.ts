// Parity of every custom wasm kernel against the `cpu` backend (tfjs's reference implementation): the kernels
// reach into tfjs-backend-wasm internals, so these tests are what keeps the 4.22.0 pin honest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index';
import { WASM_TRAINING_KERNELS, registerWasmTrainingKernels } from '../src/backend/kernels/register';
import { kernelsRunDuring } from './helpers/kernels-run';
import { gemmFor } from '../src/backend/kernels/gemm';
import { relaxedSimdActive } from '../src/backend/simd/simd-kernels';
import { randomValues, relErr } from './helpers/numeric';

type Pad = 'same' | 'valid' | number;

/** Runs fn on a backend and returns plain arrays (the tensors are disposed). */
async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(fn).map((t) => {
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return v.slice();
  });
}

function conv2dGrads(
  xShape: [number, number, number, number],
  fShape: [number, number, number, number],
  strides: number,
  pad: Pad,
  seed: number,
): () => tf.Tensor[] {
  const xv = randomValues(xShape, seed);
  const fv = randomValues(fShape, seed + 1);
  return () => {
    const x = tf.tensor4d(xv, xShape);
    const f = tf.tensor4d(fv, fShape);
    const y = tf.conv2d(x, f, strides, pad);
    const r = tf.tensor(randomValues(y.shape, seed + 2), y.shape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), r)),
    );
    return g([x, f]);
  };
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

describe('registration', () => {
  it('registers every kernel for wasm', () => {
    for (const name of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    expect(WASM_TRAINING_KERNELS).toContain('Conv2DBackpropFilter');
    expect(WASM_TRAINING_KERNELS).toContain('Conv2DBackpropInput');
    expect(WASM_TRAINING_KERNELS).toContain('MaxPoolGrad');
  });

  it('puts stock kernels back for excluded names and takes them over again', () => {
    const ours = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;
    registerWasmTrainingKernels({ exclude: ['Conv2DBackpropInput', 'MCXBatchNormTraining'] });
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc).not.toBe(ours);
    expect(tf.getKernel('MCXBatchNormTraining', 'wasm')).toBeUndefined();
    registerWasmTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc).toBe(ours);
    expect(tf.getKernel('MCXBatchNormTraining', 'wasm')).toBeDefined();
  });
});

describe('Conv2D gradients (Conv2DBackpropFilter, Conv2DBackpropInput) vs cpu', () => {
  const cases: { k: number; s: number; pad: Pad; ci: number; h: number; w: number }[] = [];
  for (const k of [1, 3, 7])
    for (const s of [1, 2])
      for (const pad of ['same', 'valid'] as const) cases.push({ k, s, pad, ci: 3, h: 11, w: 10 });
  cases.push({ k: 3, s: 1, pad: 'same', ci: 1, h: 16, w: 16 }); // the 1-channel first layer
  cases.push({ k: 7, s: 2, pad: 'same', ci: 1, h: 20, w: 18 }); // a DenseNet stem
  cases.push({ k: 3, s: 2, pad: 1, ci: 5, h: 9, w: 12 }); // explicit numeric padding
  cases.push({ k: 3, s: 1, pad: 'valid', ci: 4, h: 3, w: 3 }); // output 1x1
  cases.push({ k: 3, s: 1, pad: 'same', ci: 64, h: 24, w: 23 }); // several GEMM chunks, the last one partial
  cases.push({ k: 1, s: 2, pad: 'valid', ci: 36, h: 30, w: 31 });

  // MULTICHEXNET_GEMM unset: our GEMM (forward, both gradients); 0: the XNNPACK paths it replaces.
  for (const gemm of ['default', '0'] as const) {
    for (const c of cases) {
      it(`k=${c.k} s=${c.s} pad=${c.pad} ci=${c.ci} in=${c.h}x${c.w}${gemm === '0' ? ' (XNNPACK)' : ''}`, async () => {
        const fn = conv2dGrads([2, c.h, c.w, c.ci], [c.k, c.k, c.ci, 4], c.s, c.pad, 100 + c.k * 10 + c.s);
        const [dxRef, dwRef] = await on('cpu', fn);
        if (gemm === '0') process.env['MULTICHEXNET_GEMM'] = '0';
        try {
          const before = tf.memory().numTensors;
          const [dx, dw] = await on('wasm', fn);
          expect(tf.memory().numTensors).toBe(before);
          expect(relErr(dw!, dwRef!)).toBeLessThan(1e-4);
          expect(relErr(dx!, dxRef!)).toBeLessThan(1e-4);
        } finally {
          delete process.env['MULTICHEXNET_GEMM'];
        }
      });
    }
  }

  it('forward and both gradients run on our GEMM when relaxed SIMD is on', async () => {
    const fn = conv2dGrads([2, 9, 9, 6], [3, 3, 6, 8], 1, 'same', 5);
    await tf.setBackend('wasm');
    const { kernels } = await kernelsRunDuring(() => on('wasm', fn));
    expect(relaxedSimdActive()).toBe(true);
    expect([...kernels].filter((k) => k.startsWith('Conv2D')).sort()).toEqual([
      'Conv2D',
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
    ]);
    expect(gemmFor('forward') && gemmFor('input') && gemmFor('filter')).toBe(true);
  });

  it('runs the kernels directly with explicit padding, leaving no backend buffers behind', async () => {
    const x = randomValues([2, 8, 9, 3], 7);
    const dy = randomValues([2, 4, 4, 5], 8);
    const f = randomValues([3, 3, 3, 5], 9);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [1, 0],
      [0, 1],
      [0, 0],
    ];
    // Both gradients of one stride-2 convolution; `shape` is the attribute each takes for its output's shape.
    const gradient = (kernel: string, inputs: tf.NamedTensorMap, shape: Record<string, number[]>) =>
      tf.engine().runKernel(kernel, inputs, {
        strides: [2, 2],
        pad,
        dataFormat: 'NHWC',
        ...shape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const run = () => [
      gradient(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, [2, 8, 9, 3]), dy: tf.tensor4d(dy, [2, 4, 4, 5]) },
        { filterShape: [3, 3, 3, 5] },
      ),
      gradient(
        'Conv2DBackpropInput',
        { dy: tf.tensor4d(dy, [2, 4, 4, 5]), filter: tf.tensor4d(f, [3, 3, 3, 5]) },
        { inputShape: [2, 8, 9, 3] },
      ),
    ];
    const ref = await on('cpu', run);
    await tf.setBackend('wasm');
    const ids = tf.backend().numDataIds();
    const got = await on('wasm', run);
    expect(tf.backend().numDataIds()).toBe(ids);
    expect(relErr(got[0]!, ref[0]!)).toBeLessThan(1e-4);
    expect(relErr(got[1]!, ref[1]!)).toBeLessThan(1e-4);
  });

  it('Conv2DTranspose (forward = Conv2DBackpropInput) matches cpu', async () => {
    const xv = randomValues([2, 5, 6, 4], 21);
    const fv = randomValues([3, 3, 2, 4], 22);
    const fn = () => [
      tf.conv2dTranspose(tf.tensor4d(xv, [2, 5, 6, 4]), tf.tensor4d(fv, [3, 3, 2, 4]), [2, 10, 12, 2], 2, 'same'),
    ];
    const [ref] = await on('cpu', fn);
    const [got] = await on('wasm', fn);
    expect(relErr(got!, ref!)).toBeLessThan(1e-4);
  });

  it('propagates NaN from dy into the filter gradient', async () => {
    const xv = randomValues([1, 4, 4, 2], 31);
    const dyv = randomValues([1, 4, 4, 3], 32);
    dyv[5] = Number.NaN;
    await tf.setBackend('wasm');
    const dw = tf.tidy(
      () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, [1, 4, 4, 2]), dy: tf.tensor4d(dyv, [1, 4, 4, 3]) }, {
            strides: [1, 1],
            pad: 'same',
            dataFormat: 'NHWC',
            filterShape: [3, 3, 2, 3],
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
    );
    expect(Array.from(dw.dataSync()).some(Number.isNaN)).toBe(true);
    dw.dispose();
  });
});

describe('single-input-channel convolution (direct SIMD kernels) vs cpu', () => {
  const cases: { k: number; s: number; pad: Pad; co: number }[] = [
    { k: 3, s: 1, pad: 'same', co: 16 },
    { k: 3, s: 2, pad: 'valid', co: 20 },
    { k: 5, s: 2, pad: 'same', co: 12 },
    { k: 1, s: 1, pad: 'valid', co: 8 },
    { k: 7, s: 2, pad: 'same', co: 24 }, // 49 taps: forward stays on XNNPACK, backprop filter is direct
    { k: 3, s: 1, pad: 1, co: 4 },
    { k: 2, s: 3, pad: 'valid', co: 8 }, // stride larger than the kernel: untouched input pixels
  ];
  for (const c of cases) {
    it(`k=${c.k} s=${c.s} pad=${c.pad} co=${c.co}: forward (+bias, relu), filter and input gradients`, async () => {
      const xShape: [number, number, number, number] = [2, 13, 11, 1];
      const fShape: [number, number, number, number] = [c.k, c.k, 1, c.co];
      const xv = randomValues(xShape, 61 + c.k);
      const fv = randomValues(fShape, 62 + c.co);
      const bv = randomValues([c.co], 63);
      const fn = () => {
        const x = tf.tensor4d(xv, xShape);
        const f = tf.tensor4d(fv, fShape);
        const plain = tf.conv2d(x, f, c.s, c.pad);
        const fused = tf.fused.conv2d({
          x,
          filter: f,
          strides: c.s,
          pad: c.pad,
          bias: tf.tensor1d(bv),
          activation: 'relu',
        });
        const r = tf.tensor(randomValues(plain.shape, 64), plain.shape);
        const [dx, dw] = tf.grads((a: tf.Tensor, w: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad), r)),
        )([x, f]);
        return [plain, fused, dw!, dx!];
      };
      const ref = await on('cpu', fn);
      const got = await on('wasm', fn);
      ['conv2d', 'fused conv2d', 'filter gradient', 'input gradient'].forEach((what, i) =>
        expect(relErr(got[i]!, ref[i]!), what).toBeLessThan(1e-4),
      );
    });
  }
});

describe('depthwise convolution gradients (DepthwiseConv2dNativeBackpropFilter / Input) vs cpu', () => {
  const cases: { k: number; s: number; pad: Pad; c: number; m: number; b: number; h: number }[] = [];
  for (const s of [1, 2])
    for (const pad of ['same', 'valid'] as const)
      for (const m of [1, 2]) cases.push({ k: 3, s, pad, c: 6, m, b: 2, h: 11 });
  cases.push({ k: 5, s: 2, pad: 'same', c: 5, m: 4, b: 2, h: 13 }); // splat path of the filter gradient
  cases.push({ k: 3, s: 1, pad: 'same', c: 3, m: 3, b: 1, h: 7 }); // scalar path
  cases.push({ k: 1, s: 1, pad: 'valid', c: 9, m: 1, b: 2, h: 6 });
  cases.push({ k: 3, s: 1, pad: 1, c: 7, m: 1, b: 2, h: 9 }); // explicit padding
  cases.push({ k: 3, s: 1, pad: 'same', c: 32, m: 1, b: 4, h: 24 }); // split over the helper threads
  for (const c of cases) {
    it(`k=${c.k} s=${c.s} pad=${c.pad} C=${c.c} multiplier=${c.m} batch=${c.b}`, async () => {
      const xShape: [number, number, number, number] = [c.b, c.h, c.h + 1, c.c];
      const fShape: [number, number, number, number] = [c.k, c.k, c.c, c.m];
      const xv = randomValues(xShape, 71 + c.k + c.m);
      const fv = randomValues(fShape, 72 + c.s);
      const fn = () => {
        const x = tf.tensor4d(xv, xShape);
        const f = tf.tensor4d(fv, fShape);
        const y = tf.depthwiseConv2d(x, f, c.s, c.pad);
        const r = tf.tensor(randomValues(y.shape, 73), y.shape);
        return tf.grads((a: tf.Tensor, w: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad), r)),
        )([x, f]);
      };
      const [dxRef, dwRef] = await on('cpu', fn);
      const before = tf.memory().numTensors;
      const [dx, dw] = await on('wasm', fn);
      expect(tf.memory().numTensors).toBe(before);
      expect(relErr(dw!, dwRef!), 'filter gradient').toBeLessThan(1e-4);
      expect(relErr(dx!, dxRef!), 'input gradient').toBeLessThan(1e-4);
    });
  }

  it('separableConv2d trains: its gradients match cpu', async () => {
    const xv = randomValues([2, 10, 9, 4], 81);
    const dv = randomValues([3, 3, 4, 2], 82);
    const pv = randomValues([1, 1, 8, 5], 83);
    const fn = () =>
      tf.grads((x: tf.Tensor, d: tf.Tensor, p: tf.Tensor) =>
        tf.sum(tf.square(tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 2, 'same'))),
      )([tf.tensor4d(xv, [2, 10, 9, 4]), tf.tensor4d(dv, [3, 3, 4, 2]), tf.tensor4d(pv, [1, 1, 8, 5])]);
    const ref = await on('cpu', fn);
    const got = await on('wasm', fn);
    ['x', 'depthwise filter', 'pointwise filter'].forEach((what, i) =>
      expect(relErr(got[i]!, ref[i]!), what).toBeLessThan(1e-4),
    );
  });

  it('supports dilation: equal to the gradients of the same filter spread with zeros', async () => {
    // tfjs's own depthwiseConv2d gradient refuses dilation > 1 (and the cpu kernels ignore it), so the reference is
    // the undilated convolution with the zero-spread filter, whose gradients cpu computes.
    const [b, h, w, c, m, k, d] = [2, 12, 11, 3, 2, 3, 2];
    const xv = randomValues([b, h, w, c], 91);
    const fv = randomValues([k, k, c, m], 92);
    const ke = (k - 1) * d + 1;
    const spread = new Float32Array(ke * ke * c * m);
    for (let kh = 0; kh < k; kh++)
      for (let kw = 0; kw < k; kw++)
        for (let j = 0; j < c * m; j++) spread[(kh * d * ke + kw * d) * c * m + j] = fv[(kh * k + kw) * c * m + j]!;
    const xShape: [number, number, number, number] = [b, h, w, c];
    const dyShape: [number, number, number, number] = [b, h, w, c * m];
    const dyv = randomValues(dyShape, 93);
    const ref = await on('cpu', () => {
      const x = tf.tensor4d(xv, xShape);
      const fe = tf.tensor4d(spread, [ke, ke, c, m]);
      const dy = tf.tensor4d(dyv, dyShape);
      const [dx, dwe] = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), dy)),
      )([x, fe]);
      // dw of the dilated filter = dwe at the taps the dilated filter uses
      const idx: number[] = [];
      for (let kh = 0; kh < k; kh++) for (let kw = 0; kw < k; kw++) idx.push(kh * d * ke + kw * d);
      return [dx!, tf.gather(tf.reshape(dwe!, [ke * ke, c * m]), idx)];
    });
    const got = await on('wasm', () => {
      const attrs = { strides: [1, 1], pad: 'same', dilations: [d, d] } as unknown as tf.NamedAttrMap;
      const dw = tf
        .engine()
        .runKernel(
          'DepthwiseConv2dNativeBackpropFilter',
          { x: tf.tensor4d(xv, xShape), dy: tf.tensor4d(dyv, dyShape) },
          { ...attrs, filterShape: [k, k, c, m] } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
      const dx = tf
        .engine()
        .runKernel(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: tf.tensor4d(dyv, dyShape), filter: tf.tensor4d(fv, [k, k, c, m]) },
          { ...attrs, inputShape: xShape } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
      return [dx, dw];
    });
    expect(relErr(got[0]!, ref[0]!), 'input gradient').toBeLessThan(1e-4);
    expect(relErr(got[1]!, ref[1]!), 'filter gradient').toBeLessThan(1e-4);
  });
});

describe('UnsortedSegmentSum (the gradient of tf.gather) vs cpu', () => {
  it('sums rows into segments (ids out of range dropped), int32 too, and trains tf.gather', async () => {
    const xv = randomValues([6, 4, 5], 101);
    const ids = [0, 2, -1, 1, 9, 2];
    const fn = () => {
      const x = tf.tensor3d(xv, [6, 4, 5]);
      const seg = tf.tensor1d(ids, 'int32');
      const sum = tf.unsortedSegmentSum(x, seg, 4);
      const ints = tf.cast(
        tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 3),
        'float32',
      );
      const table = tf.tensor2d(xv.slice(0, 12), [6, 2]);
      const [dTable] = tf.grads((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.gather(t, tf.tensor1d([5, 1, 1, 0], 'int32')), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]))),
      )([table]);
      return [sum, ints, dTable!];
    };
    const ref = await on('cpu', fn);
    const before = tf.memory().numTensors;
    const got = await on('wasm', fn);
    expect(tf.memory().numTensors).toBe(before);
    ['segment sum', 'int32 segment sum', 'gather gradient'].forEach((what, i) =>
      expect(relErr(got[i]!, ref[i]!), what).toBeLessThan(1e-6),
    );
  });
});

describe('Sum / Mean over leading axes and the Relu gradient vs cpu', () => {
  it('reduces over leading axes (keepDims, 16-, 4-channel blocks and tails, split over threads) and falls back elsewhere', async () => {
    const shapes: [number[], number | number[]][] = [
      [
        [4, 6, 5, 27],
        [0, 1, 2],
      ],
      [
        [64, 40, 33],
        [0, 1],
      ], // large enough to split over the helper threads
      [[7, 5], 0],
      [
        [3, 4, 5],
        [1, 0],
      ],
      [[3, 4, 5], -1], // last axis: stock kernel
      [
        [3, 4, 5],
        [0, 2],
      ], // not leading: stock kernel
      [
        [6, 2],
        [0, 1],
      ], // all axes: stock kernel
    ];
    const fn = () =>
      shapes.flatMap(([shape, axis], i) => {
        const x = tf.tensor(randomValues(shape, 110 + i), shape);
        return [tf.sum(x, axis), tf.mean(x, axis, true), tf.sum(x, axis, true)];
      });
    const ref = await on('cpu', fn);
    const before = tf.memory().numTensors;
    const got = await on('wasm', fn);
    expect(tf.memory().numTensors).toBe(before);
    got.forEach((g, i) => expect(relErr(g, ref[i]!), `output ${i}`).toBeLessThan(1e-5));
  });

  it('Relu gradient: one kernel on wasm, the values (NaN included) of tfjs', async () => {
    const xv = randomValues([3, 70, 50], 120);
    const dyv = randomValues([3, 70, 50], 121);
    xv[3] = Number.NaN;
    xv[5] = 0;
    dyv[7] = Number.NaN;
    xv[7] = -1;
    const fn = () => {
      const [dx] = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.tensor(dyv, [3, 70, 50]))))([
        tf.tensor(xv, [3, 70, 50]),
      ]);
      return [dx!];
    };
    const [ref] = await on('cpu', fn);
    const {
      kernels: seen,
      result: [got],
    } = await kernelsRunDuring(() => on('wasm', fn));
    expect(seen).toContain('MCXReluGrad');
    expect(seen).not.toContain('Step');
    expect(Number.isNaN(got![3]!)).toBe(true);
    expect(Number.isNaN(got![7]!)).toBe(true);
    expect(Math.abs(got![5]!)).toBe(0);
    const finite = (a: Float32Array) => a.map((v) => (Number.isNaN(v) ? 1234 : v));
    expect(relErr(finite(got!), finite(ref!))).toBe(0);
  });
});

/**
 * The gradient of sum(pool(x) * r) at x = `xv` (r seeded by `rSeed`) on wasm against cpu: its relative error, and
 * the tensors the wasm pass left behind.
 */
async function poolGradVsCpu(
  pool: (x: tf.Tensor4D) => tf.Tensor4D,
  xv: Float32Array,
  shape: [number, number, number, number],
  rSeed: number,
): Promise<{ err: number; leaked: number }> {
  const fn = () =>
    tf.grads((a: tf.Tensor) => {
      const y = pool(a as tf.Tensor4D);
      return tf.sum(tf.mul(y, tf.tensor(randomValues(y.shape, rSeed), y.shape)));
    })([tf.tensor4d(xv, shape)]);
  const [ref] = await on('cpu', fn);
  const before = tf.memory().numTensors;
  const [got] = await on('wasm', fn);
  return { err: relErr(got!, ref!), leaked: tf.memory().numTensors - before };
}

describe('MaxPoolGrad vs cpu', () => {
  const cases: { k: number; s: number; pad: 'same' | 'valid'; h: number; w: number; c: number }[] = [
    { k: 2, s: 2, pad: 'valid', h: 8, w: 8, c: 16 }, // SIMD fast path
    { k: 2, s: 2, pad: 'valid', h: 7, w: 9, c: 6 }, // fast path with odd sizes and a scalar channel tail
    { k: 2, s: 2, pad: 'same', h: 7, w: 7, c: 4 }, // padded: generic path
    { k: 3, s: 2, pad: 'same', h: 9, w: 8, c: 3 }, // overlapping windows
    { k: 3, s: 1, pad: 'same', h: 6, w: 6, c: 5 },
  ];
  for (const c of cases) {
    for (const sign of ['mixed', 'negative', 'ties'] as const) {
      it(`k=${c.k} s=${c.s} ${c.pad} ${c.h}x${c.w}x${c.c} ${sign}`, async () => {
        const shape: [number, number, number, number] = [2, c.h, c.w, c.c];
        let xv = randomValues(shape, 41 + c.k + c.h);
        if (sign === 'negative') xv = xv.map((v) => -Math.abs(v) - 0.5);
        if (sign === 'ties') xv = xv.map((v) => Math.round(v));
        const { err, leaked } = await poolGradVsCpu((a) => tf.maxPool(a, c.k, c.s, c.pad), xv, shape, 5);
        expect(leaked).toBe(0);
        expect(err).toBeLessThan(1e-6);
      });
    }
  }
});

describe('AvgPoolGrad vs cpu', () => {
  const cases: { k: number; s: number; pad: 'same' | 'valid'; h: number; w: number; c: number }[] = [
    { k: 2, s: 2, pad: 'valid', h: 8, w: 8, c: 16 }, // DenseNet transition
    { k: 2, s: 2, pad: 'valid', h: 7, w: 9, c: 6 },
    { k: 3, s: 2, pad: 'same', h: 9, w: 8, c: 5 }, // overlapping, padded windows
    { k: 3, s: 1, pad: 'same', h: 6, w: 7, c: 4 },
  ];
  for (const c of cases) {
    it(`k=${c.k} s=${c.s} ${c.pad} ${c.h}x${c.w}x${c.c}`, async () => {
      const shape: [number, number, number, number] = [2, c.h, c.w, c.c];
      const xv = randomValues(shape, 71 + c.k + c.h);
      const { err, leaked } = await poolGradVsCpu((a) => tf.avgPool(a, c.k, c.s, c.pad), xv, shape, 6);
      expect(leaked).toBe(0);
      expect(err).toBeLessThan(1e-5);
    });
  }
});

/** The two resize gradients, each against the exact transpose of its forward on cpu. */
type ResizeCase = { h: number; w: number; c: number; oh: number; ow: number; align: boolean; hpc: boolean };
const RESIZE_GRADS: {
  name: string;
  resize: (x: tf.Tensor4D, size: [number, number], align: boolean, hpc: boolean) => tf.Tensor4D;
  seed: number;
  tolerance: number;
  cases: ResizeCase[];
}[] = [
  {
    name: 'ResizeBilinearGrad vs cpu',
    resize: tf.image.resizeBilinear,
    seed: 82,
    tolerance: 1e-5,
    cases: [
      { h: 8, w: 8, c: 16, oh: 16, ow: 16, align: false, hpc: false }, // 2x decoder upsampling
      { h: 4, w: 5, c: 6, oh: 16, ow: 20, align: false, hpc: false }, // 4x, non-square, scalar channel tail
      { h: 5, w: 7, c: 4, oh: 9, ow: 12, align: true, hpc: false },
      { h: 9, w: 8, c: 3, oh: 4, ow: 5, align: false, hpc: false }, // downsampling
      { h: 3, w: 4, c: 2, oh: 7, ow: 9, align: false, hpc: true }, // half-pixel centres
    ],
  },
  {
    name: 'ResizeNearestNeighborGrad: the exact transpose of the forward',
    resize: tf.image.resizeNearestNeighbor,
    seed: 91,
    tolerance: 1e-6,
    cases: [
      { h: 4, w: 4, c: 8, oh: 8, ow: 8, align: false, hpc: false }, // 2x decoder upsampling
      { h: 3, w: 5, c: 6, oh: 12, ow: 20, align: false, hpc: false },
      { h: 5, w: 4, c: 4, oh: 9, ow: 7, align: true, hpc: false },
      { h: 4, w: 3, c: 3, oh: 7, ow: 8, align: false, hpc: true },
    ],
  },
];

for (const { name, resize, seed, tolerance, cases } of RESIZE_GRADS) {
  describe(name, () => {
    /** (J^T r)_i = <resize(e_i), r>: the exact gradient, one cpu forward pass per input element. */
    async function transposeOfForward(
      shape: [number, number, number, number],
      size: [number, number],
      align: boolean,
      hpc: boolean,
      rv: Float32Array,
    ) {
      await tf.setBackend('cpu');
      const n = shape.reduce((a, b) => a * b, 1);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const e = new Float32Array(n);
        e[i] = 1;
        out[i] = tf.tidy(
          () =>
            tf
              .sum(
                tf.mul(resize(tf.tensor4d(e, shape), size, align, hpc), tf.tensor(rv, [shape[0], ...size, shape[3]])),
              )
              .dataSync()[0]!,
        );
      }
      return out;
    }
    for (const c of cases) {
      it(`${c.h}x${c.w}x${c.c} -> ${c.oh}x${c.ow} alignCorners=${c.align} halfPixelCenters=${c.hpc}`, async () => {
        const shape: [number, number, number, number] = [2, c.h, c.w, c.c];
        const rv = randomValues([2, c.oh, c.ow, c.c], seed + c.h);
        const ref = await transposeOfForward(shape, [c.oh, c.ow], c.align, c.hpc, rv);
        const before = tf.memory().numTensors;
        const [got] = await on('wasm', () =>
          tf.grads((a: tf.Tensor) =>
            tf.sum(tf.mul(resize(a as tf.Tensor4D, [c.oh, c.ow], c.align, c.hpc), tf.tensor(rv, [2, c.oh, c.ow, c.c]))),
          )([tf.zeros(shape)]),
        );
        expect(tf.memory().numTensors).toBe(before);
        expect(relErr(got!, ref)).toBeLessThan(tolerance);
      });
    }
  });
}

describe('Identity', () => {
  it('clones without copying and without leaking', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor([1, 2, 3]);
    const buffers = tf.backend().numDataIds();
    const y = tf.clone(x);
    expect(tf.backend().numDataIds()).toBe(buffers);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    const before = tf.memory().numTensors;
    y.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
  });
});
