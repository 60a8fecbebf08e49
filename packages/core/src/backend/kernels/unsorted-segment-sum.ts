/**
 * UnsortedSegmentSum for wasm (missing in stock 4.22.0). It is the gradient of GatherV2 (`tf.gather`, embedding
 * lookups), so without it no net with a gather trained on wasm. Rows of x are added into their segment's row of
 * the output, one SIMD call per row; ids outside [0, numSegments) are dropped, as the cpu backend does.
 */
import { tf } from '../../tf';
import { requireSimd } from './kernel-context';
import type { KernelArgs } from './kernel-setup';
import { asWasm, f32Of, ptrOf, sizeOf } from './wasm-backend';
import { wasmKernelConfig } from './kernel-setup';

function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  if (x.dtype !== 'float32' && x.dtype !== 'int32')
    throw new Error(`UnsortedSegmentSum on wasm takes float32 or int32 x, got ${x.dtype}`);
  const rows = sizeOf(segmentIds.shape);
  const inner = sizeOf(x.shape.slice(segmentIds.shape.length));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const outView = x.dtype === 'float32' ? f32Of(backend, out) : (backend.typedArrayFromHeap(out) as Int32Array);
  outView.fill(0);
  if (rows * inner === 0) return out;
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  if (x.dtype === 'float32') {
    const simd = requireSimd(backend, 'UnsortedSegmentSum');
    const xp = ptrOf(backend, x);
    const op = ptrOf(backend, out);
    for (let i = 0; i < rows; i++) {
      const s = ids[i]!;
      if (s >= 0 && s < numSegments) simd.addInto(op + s * inner * 4, xp + i * inner * 4, inner);
    }
    return out;
  }
  const xs = backend.typedArrayFromHeap(x) as Int32Array;
  for (let i = 0; i < rows; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0; j < inner; j++) outView[s * inner + j]! += xs[i * inner + j]!;
  }
  return out;
}

/** Kernel config (missing in stock 4.22.0): registered by registerWasmTrainingKernels(). */
export const unsortedSegmentSumConfig: tf.KernelConfig = wasmKernelConfig('UnsortedSegmentSum', unsortedSegmentSum);
