/**
 * BatchMatMul and _FusedMatMul (tf.matMul, dense layers) for wasm on our GEMM. The stock kernels run a batched
 * product outside XNNPACK's fast path (a few GFLOP/s on large products); here each batch is one call of the
 * SIMD GEMM with transposes expressed as strides (no copies). Non-float32 inputs, batch shapes that broadcast in
 * both operands, and fused activations other than linear / relu go to the stock kernels.
 */
import { tf } from '../../tf';
import { gemm, gemmFor, packB, type HeapMatrix } from './gemm';
import type { KernelArgs } from './kernel-setup';
import { runStock } from './stock-kernels';
import { asWasm, f32Of, ptrOf, sizeOf, type WasmBackend } from './wasm-backend';
import { wasmKernelConfig } from './kernel-setup';

interface MatMulPlan {
  batch: number;
  batchA: number;
  batchB: number;
  M: number;
  N: number;
  K: number;
  outShape: number[];
}

function plan(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== Kb) return null; // the stock kernel names the mismatch
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (sizeOf(outer) !== Math.max(batchA, batchB)) return null;
  return { batch: Math.max(batchA, batchB), batchA, batchB, M, N, K, outShape: [...outer, M, N] };
}

function run(
  backend: WasmBackend,
  kernel: string,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  p: MatMulPlan,
  bias: number,
  relu: boolean,
): tf.TensorInfo {
  const out = backend.makeOutput(p.outShape, 'float32');
  const { M, N, K } = p;
  if (M * N === 0) return out;
  if (K === 0) {
    f32Of(backend, out).fill(0);
    return out;
  }
  const ap = ptrOf(backend, a);
  const bp = ptrOf(backend, b);
  const op = ptrOf(backend, out);
  // A element (m, k); B element (k, n): transposes are strides.
  const aMatrix = (i: number): HeapMatrix => ({
    ptr: ap + i * M * K * 4,
    si: transposeA ? 4 : K * 4,
    sj: transposeA ? M * 4 : 4,
  });
  const bMatrix = (i: number) => ({
    ptr: bp + i * K * N * 4,
    si: transposeB ? 4 : N * 4,
    sj: transposeB ? K * 4 : 4,
    rows: K,
  });
  let packed = p.batchB === 1 ? packB(backend, kernel, [bMatrix(0)], N) : null;
  try {
    for (let i = 0; i < p.batch; i++) {
      if (p.batchB !== 1) {
        packed?.free();
        packed = null;
        packed = packB(backend, kernel, [bMatrix(i)], N);
      }
      gemm(
        backend,
        kernel,
        M,
        aMatrix(p.batchA === 1 ? 0 : i),
        packed!,
        { ptr: op + i * M * N * 4, ldc: N * 4 },
        { bias, relu },
      );
    }
  } finally {
    packed?.free();
  }
  return out;
}

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const p = gemmFor('matmul') ? plan(a, b, transposeA, transposeB) : null;
  if (p === null) return runStock('BatchMatMul', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  return run(asWasm(args.backend), 'BatchMatMul', a, b, transposeA, transposeB, p, 0, false);
}

function fusedMatMul(args: KernelArgs): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { transposeA, transposeB, activation } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
  };
  const act = activation ?? 'linear';
  let p =
    gemmFor('matmul') && (act === 'linear' || act === 'relu') && preluActivationWeights == null
      ? plan(a!, b!, transposeA, transposeB)
      : null;
  if (p !== null && bias != null && (bias.dtype !== 'float32' || sizeOf(bias.shape) !== p.N)) p = null;
  if (p === null) return runStock('_FusedMatMul', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const backend = asWasm(args.backend);
  return run(
    backend,
    '_FusedMatMul',
    a!,
    b!,
    transposeA,
    transposeB,
    p,
    bias == null ? 0 : ptrOf(backend, bias),
    act === 'relu',
  );
}

/** Kernel configs: registered by registerWasmTrainingKernels() (the stock kernels stay the fallback). */
export const batchMatMulConfig: tf.KernelConfig = wasmKernelConfig('BatchMatMul', batchMatMul);
export const fusedMatMulConfig: tf.KernelConfig = wasmKernelConfig('_FusedMatMul', fusedMatMul);
