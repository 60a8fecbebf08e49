/**
 * ResizeNearestNeighborGrad for wasm, four channels at a time: the exact transpose of tfjs's forward
 * ResizeNearestNeighbor (each output pixel's dy goes to the source pixel the forward read), with the forward's own
 * index arithmetic for alignCorners and halfPixelCenters.
 */
import type { tf } from '../../tf';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { splitRange } from '../simd/simd-pool';
import { asWasm, ptrOf } from './wasm-backend';

/** Per output index, the source index tfjs's forward ResizeNearestNeighbor reads. */
export function nearestSources(outSize: number, inSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const out = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    let n = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
    if (halfPixelCenters) n = Math.max(0, n);
    out[i] = n;
  }
  return out;
}

function resizeNearestNeighborGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as { alignCorners: boolean; halfPixelCenters?: boolean };
  const [B, xH, xW, C] = images.shape as [number, number, number, number];
  const [, yH, yW] = dy.shape as [number, number, number, number];
  const dx = backend.makeOutput(images.shape, 'float32');
  if (B * xH * xW * C === 0) return dx;
  const rows = nearestSources(yH, xH, alignCorners, halfPixelCenters === true);
  const cols = nearestSources(yW, xW, alignCorners, halfPixelCenters === true);
  const pr = backend.wasm._malloc(Math.max(4, yH * 4));
  const pc = backend.wasm._malloc(Math.max(4, yW * 4));
  try {
    new Int32Array(backend.wasm.HEAPU8.buffer, pr, yH).set(rows);
    new Int32Array(backend.wasm.HEAPU8.buffer, pc, yW).set(cols);
    requireSimd(backend, 'ResizeNearestNeighborGrad');
    const dyp = ptrOf(backend, dy);
    const dxp = ptrOf(backend, dx);
    const images4 = splitRange(B, simdThreads(backend), Math.ceil(65536 / (yH * yW * C)));
    runParts(
      backend,
      'ResizeNearestNeighborGrad',
      'resizeNearestGrad',
      images4.map(([b0, b1]) => [dyp + b0 * yH * yW * C * 4, dxp + b0 * xH * xW * C * 4, b1 - b0, xH, xW, yH, yW, C, pr, pc] as [number, number, number, number, number, number, number, number, number, number]),
    );
  } finally {
    backend.wasm._free(pr);
    backend.wasm._free(pc);
  }
  return dx;
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const resizeNearestNeighborGradConfig: tf.KernelConfig = {
  kernelName: 'ResizeNearestNeighborGrad',
  backendName: 'wasm',
  kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
};
