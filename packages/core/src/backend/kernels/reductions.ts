/**
 * Sum and Mean for wasm over the leading axes of a tensor (x viewed as [rows, inner], reduced over rows): bias
 * gradients, tf.moments and global pools reduce NHWC tensors over batch and space. The stock kernels transpose the
 * reduced axes to the end first (a full copy) and then loop; here one SIMD pass adds rows into f64 column totals.
 * Other axes, and other dtypes, go to the stock kernels.
 */
import { tf } from '../../tf';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { heapAlloc, heapF64, heapFree } from './heap';
import { wasmKernelConfig, type KernelArgs } from './kernel-setup';
import { splitRange } from '../simd/simd-pool';
import { runStock } from './stock-kernels';
import { asWasm, f32Of, ptrOf, sizeOf, type WasmBackend } from './wasm-backend';

/** rows x inner when `axis` are exactly the leading axes 0..k-1 (k < rank) of a float32 x, else null. */
function leadingAxes(x: tf.TensorInfo, axis: number | number[]): { k: number; rows: number; inner: number } | null {
  if (x.dtype !== 'float32' || x.shape.length < 2) return null;
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return null;
  const rows = sizeOf(x.shape.slice(0, k));
  const inner = sizeOf(x.shape.slice(k));
  return rows > 0 && inner > 0 ? { k, rows, inner } : null;
}

/** Column totals of x [rows, inner] (f64), split by rows over the helper threads. */
export function columnSums(
  backend: WasmBackend,
  kernel: string,
  x: tf.TensorInfo,
  rows: number,
  inner: number,
): Float64Array {
  requireSimd(backend, kernel);
  const ranges = splitRange(rows, simdThreads(backend), Math.ceil(65536 / inner));
  const acc = heapAlloc(backend, ranges.length * inner * 8);
  try {
    heapF64(backend, acc, ranges.length * inner).fill(0);
    const xp = ptrOf(backend, x);
    runParts(backend, kernel, 'colSums', ranges, (r0, r1, i) => [
      xp + r0 * inner * 4,
      r1 - r0,
      inner,
      acc + i * inner * 8,
    ]);
    const parts = heapF64(backend, acc, ranges.length * inner);
    const total = parts.slice(0, inner);
    for (let p = 1; p < ranges.length; p++) for (let j = 0; j < inner; j++) total[j]! += parts[p * inner + j]!;
    return total;
  } finally {
    heapFree(backend, acc);
  }
}

function reduce(args: KernelArgs, kernel: 'Sum' | 'Mean'): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = args.inputs['x']!;
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const plan = leadingAxes(x, axis);
  if (plan === null) return runStock(kernel, args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const totals = columnSums(backend, kernel, x, plan.rows, plan.inner);
  const shape = keepDims ? x.shape.map((d, i) => (i < plan.k ? 1 : d)) : x.shape.slice(plan.k);
  const out = backend.makeOutput(shape, 'float32');
  const view = f32Of(backend, out);
  const scale = kernel === 'Mean' ? 1 / plan.rows : 1;
  for (let j = 0; j < plan.inner; j++) view[j] = totals[j]! * scale;
  return out;
}

/** Kernel configs: registered by registerWasmTrainingKernels() (the stock kernels stay the fallback). */
export const sumConfig: tf.KernelConfig = wasmKernelConfig('Sum', (a) => reduce(a, 'Sum'));
export const meanConfig: tf.KernelConfig = wasmKernelConfig('Mean', (a) => reduce(a, 'Mean'));
