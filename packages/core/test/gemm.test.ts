// MultiCheXNet's GEMM (assembly/gemm.ts) in both builds, SIMD128 and relaxed SIMD (fused multiply-add), against a
// float64 reference: the raw GEMM (tails in M, N and K, A transposed, accumulate, bias, relu) and the two
// convolution drivers (im2col rows, filter-gradient rows). The kernels as the backend uses them (one build per
// process) are checked against the cpu backend in kernels-parity.test.ts; tf.matMul on the GEMM is checked here.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index';
import { heapAlloc, heapF32, heapFree } from '../src/backend/kernels/heap';
import { memoryOf, type WasmBackend } from '../src/backend/kernels/wasm-backend';
import { enableRelaxedSimd, instantiateSimdKernels, type SimdKernels } from '../src/backend/simd/simd-kernels';
import { randomValues, relErr } from './helpers/numeric';

let backend: WasmBackend;
const builds: [string, SimdKernels][] = [];

beforeAll(async () => {
  await initBackend('wasm');
  backend = tf.backend() as unknown as WasmBackend;
  const memory = memoryOf(backend)!;
  builds.push(['SIMD128', instantiateSimdKernels(memory, false)!]);
  if (await enableRelaxedSimd()) builds.push(['relaxed SIMD', instantiateSimdKernels(memory, true)!]);
});

/** Heap copies of the arrays; fn gets their addresses; everything is freed after. */
function onHeap<T>(arrays: Float32Array[], fn: (ptrs: number[]) => T): T {
  const ptrs = arrays.map((a) => heapAlloc(backend, Math.max(16, a.length * 4)));
  try {
    arrays.forEach((a, i) => heapF32(backend, ptrs[i]!, a.length).set(a));
    return fn(ptrs);
  } finally {
    ptrs.forEach((p) => heapFree(backend, p));
  }
}

it('relaxed SIMD is available in this Node', () => {
  // Node 20 has it behind a V8 flag that core sets at run time; without it only the SIMD128 build would run.
  expect(builds.map((b) => b[0])).toEqual(['SIMD128', 'relaxed SIMD']);
});

describe('gemm vs float64 reference', () => {
  const cases = [
    { M: 4, N: 8, K: 1 },
    { M: 13, N: 21, K: 300 }, // tails in every dimension, two K passes
    { M: 37, N: 5, K: 17 },
    { M: 130, N: 40, K: 513 }, // several row blocks and K passes
  ];
  for (const c of cases) {
    for (const transA of [false, true]) {
      it(`M=${c.M} N=${c.N} K=${c.K}${transA ? ' A^T' : ''}, + C, bias, relu: both builds`, () => {
        const { M, N, K } = c;
        const a = randomValues(M * K, M + K);
        const b = randomValues(K * N, N + 1);
        const c0 = randomValues(M * N, 3);
        const bias = randomValues(N, 4);
        for (const [accumulate, withBias, relu] of [
          [false, false, false],
          [true, true, true],
        ] as const) {
          const ref = new Float64Array(M * N);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              let s = accumulate ? c0[m * N + n]! : 0;
              for (let k = 0; k < K; k++) s += (transA ? a[k * M + m]! : a[m * K + k]!) * b[k * N + n]!;
              if (withBias) s += bias[n]!;
              ref[m * N + n] = relu ? Math.max(0, s) : s;
            }
          }
          for (const [name, simd] of builds) {
            const got = onHeap(
              [a, b, c0, bias, new Float32Array(Math.ceil(N / 8) * 8 * K)],
              ([pa, pb, pc, pbias, pp]) => {
                simd.gemmPackB(pb!, N * 4, 4, K, N, pp!, K, 0, 0, Math.ceil(N / 8));
                simd.gemm(
                  M,
                  N,
                  K,
                  pa!,
                  transA ? 4 : K * 4,
                  transA ? M * 4 : 4,
                  pp!,
                  K,
                  pc!,
                  N * 4,
                  accumulate ? 1 : 0,
                  withBias ? pbias! : 0,
                  relu ? 1 : 0,
                );
                return heapF32(backend, pc!, M * N).slice();
              },
            );
            expect(relErr(got, ref), `${name} accumulate=${accumulate}`).toBeLessThan(1e-5);
          }
        }
      });
    }
  }
});

describe('convolution drivers vs float64 reference', () => {
  const cases = [
    { B: 2, H: 7, W: 6, Ci: 5, Co: 11, K: 3, S: 1, D: 1, pad: 1 },
    { B: 1, H: 9, W: 9, Ci: 3, Co: 8, K: 3, S: 2, D: 1, pad: 0 },
    { B: 2, H: 8, W: 7, Ci: 4, Co: 6, K: 3, S: 1, D: 2, pad: 2 },
    { B: 3, H: 5, W: 4, Ci: 9, Co: 13, K: 1, S: 1, D: 1, pad: 0 }, // 1 x 1: x read in place
    { B: 2, H: 7, W: 5, Ci: 8, Co: 10, K: 3, S: 1, D: 1, pad: 1 }, // 70 pixels, two uneven halves
    { B: 2, H: 9, W: 8, Ci: 4, Co: 16, K: 3, S: 2, D: 1, pad: 1 },
  ];
  for (const c of cases) {
    it(`${c.K}x${c.K} stride ${c.S} dilation ${c.D} pad ${c.pad}, ${c.Ci} -> ${c.Co}: forward and filter gradient, both builds`, () => {
      const { B, H, W, Ci, Co, K, S, D, pad } = c;
      const OH = Math.floor((H + 2 * pad - (K - 1) * D - 1) / S) + 1;
      const OW = Math.floor((W + 2 * pad - (K - 1) * D - 1) / S) + 1;
      const P = B * OH * OW;
      const kdim = K * K * Ci;
      const x = randomValues(B * H * W * Ci, 10 + K);
      const w = randomValues(kdim * Co, 11);
      const dy = randomValues(P * Co, 12);
      const at = (b: number, oh: number, ow: number, kh: number, kw: number, ci: number): number => {
        const ih = oh * S + kh * D - pad;
        const iw = ow * S + kw * D - pad;
        return ih < 0 || ih >= H || iw < 0 || iw >= W ? 0 : x[((b * H + ih) * W + iw) * Ci + ci]!;
      };
      const yRef = new Float64Array(P * Co);
      const dwRef = new Float64Array(kdim * Co);
      for (let b = 0; b < B; b++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const p = (b * OH + oh) * OW + ow;
            for (let kh = 0; kh < K; kh++) {
              for (let kw = 0; kw < K; kw++) {
                for (let ci = 0; ci < Ci; ci++) {
                  const v = at(b, oh, ow, kh, kw, ci);
                  const row = ((kh * K + kw) * Ci + ci) * Co;
                  for (let co = 0; co < Co; co++) {
                    yRef[p * Co + co]! += v * w[row + co]!;
                    dwRef[row + co]! += v * dy[p * Co + co]!;
                  }
                }
              }
            }
          }
        }
      }
      const colRows = 8;
      for (const [name, simd] of builds) {
        const [y, dw] = onHeap(
          [
            x,
            w,
            dy,
            new Float32Array(Math.ceil(Co / 8) * 8 * kdim),
            new Float32Array(P * Co),
            new Float32Array(colRows * kdim),
            new Float32Array(256 * kdim),
            new Float32Array(256 * Math.ceil(Co / 8) * 8),
            new Float32Array(kdim * Co),
          ],
          ([px, pw, pdy, pp, py, pcol, pcol2, ppack, pdw]) => {
            simd.gemmPackB(pw!, Co * 4, 4, kdim, Co, pp!, kdim, 0, 0, Math.ceil(Co / 8));
            const geometry = [H, W, Ci, OH, OW, K, K, S, S, D, D, pad, pad] as const;
            // Two calls over the pixel range, as two threads would split it.
            const half = Math.floor(P / 2);
            for (const [n0, n1] of [
              [0, half],
              [half, P],
            ] as const)
              simd.convGemmRows(px!, ...geometry, n0, n1 - n0, pcol!, colRows, pp!, Co, py!, 0, 0);
            simd.convGemmFilterRows(px!, pdy!, ...geometry, Co, 0, P, pcol2!, ppack!, pdw!, 0);
            return [heapF32(backend, py!, P * Co).slice(), heapF32(backend, pdw!, kdim * Co).slice()];
          },
        );
        expect(relErr(y!, yRef), `${name} forward`).toBeLessThan(1e-5);
        expect(relErr(dw!, dwRef), `${name} filter gradient`).toBeLessThan(1e-5);
      }
    });
  }
});

describe('tf.matMul and dense layers on the GEMM vs cpu', () => {
  it('matches cpu: transposes, batches (one side broadcast), fused bias + relu, dense gradients', async () => {
    const fn = () => {
      const a = tf.tensor(randomValues(3 * 17 * 29, 1), [3, 17, 29]);
      const b = tf.tensor(randomValues(3 * 29 * 10, 2), [3, 29, 10]);
      const b1 = tf.tensor(randomValues(29 * 10, 3), [1, 29, 10]);
      const at = tf.tensor(randomValues(29 * 17, 4), [29, 17]);
      const bt = tf.tensor(randomValues(10 * 29, 5), [10, 29]);
      const bias = tf.tensor1d(randomValues(10, 6));
      const x = tf.tensor2d(randomValues(9 * 29, 7), [9, 29]);
      const w = tf.tensor2d(randomValues(29 * 10, 8), [29, 10]);
      const [dx, dw, db] = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(
          tf.square(tf.fused.matMul({ a: xi as tf.Tensor2D, b: wi as tf.Tensor2D, bias: bi, activation: 'relu' })),
        ),
      )([x, w, bias]);
      return [
        tf.matMul(a, b),
        tf.matMul(a, b1),
        tf.matMul(at, bt, true, true),
        tf.matMul(tf.reshape(a, [51, 29]), w),
        dx!,
        dw!,
        db!,
      ];
    };
    await tf.setBackend('cpu');
    const ref = tf.tidy(fn).map((t) => t.dataSync().slice() as Float32Array);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const got = tf.tidy(fn).map((t) => {
      const v = t.dataSync().slice() as Float32Array;
      t.dispose();
      return v;
    });
    expect(tf.memory().numTensors).toBe(before);
    got.forEach((g, i) => expect(relErr(g, Float64Array.from(ref[i]!)), `output ${i}`).toBeLessThan(1e-5));
  });
});
