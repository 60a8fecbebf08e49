/**
 * ResizeNearestNeighborGrad for wasm, four channels at a time: the exact transpose of tfjs's forward
 * ResizeNearestNeighbor (each output pixel's dy goes to the source pixel the forward read), with the forward's own
 * index arithmetic for alignCorners and halfPixelCenters.
 */
import type { tf } from '../../tf';
import { resizeRatio, runResizeGrad, wasmKernelConfig, type KernelArgs } from './kernel-setup';

/** Per output index, the source index tfjs's forward ResizeNearestNeighbor reads. */
export function nearestSources(
  outSize: number,
  inSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Int32Array {
  const ratio = resizeRatio(outSize, inSize, alignCorners);
  const out = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    let n = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
    if (halfPixelCenters) n = Math.max(0, n);
    out[i] = n;
  }
  return out;
}

function resizeNearestNeighborGrad(args: KernelArgs): tf.TensorInfo {
  return runResizeGrad(
    args,
    'ResizeNearestNeighborGrad',
    'resizeNearestGrad',
    (outSize, inSize, alignCorners, half) => [nearestSources(outSize, inSize, alignCorners, half)],
  );
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const resizeNearestNeighborGradConfig: tf.KernelConfig = wasmKernelConfig(
  'ResizeNearestNeighborGrad',
  resizeNearestNeighborGrad,
);
