/**
 * ResizeNearestNeighborGrad for wasm, four channels at a time: the exact transpose of tfjs's forward
 * ResizeNearestNeighbor (each output pixel's dy goes to the source pixel the forward read), with the forward's own
 * index arithmetic for alignCorners and halfPixelCenters.
 */
import type { tf } from '../../tf';
import { runParts } from './kernel-context';
import { resizeGradSetup, resizeRatio, withHeapTables, type KernelArgs } from './kernel-setup';
import { ptrOf } from './wasm-backend';

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
  const { backend, dy, dx, alignCorners, halfPixelCenters, xH, xW, C, yH, yW, images } = resizeGradSetup(
    args,
    'ResizeNearestNeighborGrad',
  );
  if (images === null) return dx;
  const rows = nearestSources(yH, xH, alignCorners, halfPixelCenters);
  const cols = nearestSources(yW, xW, alignCorners, halfPixelCenters);
  withHeapTables(backend, [rows, cols], ([pr, pc]) => {
    const dyp = ptrOf(backend, dy);
    const dxp = ptrOf(backend, dx);
    runParts(backend, 'ResizeNearestNeighborGrad', 'resizeNearestGrad', images, (b0, b1) => [
      dyp + b0 * yH * yW * C * 4,
      dxp + b0 * xH * xW * C * 4,
      b1 - b0,
      xH,
      xW,
      yH,
      yW,
      C,
      pr!,
      pc!,
    ]);
  });
  return dx;
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const resizeNearestNeighborGradConfig: tf.KernelConfig = {
  kernelName: 'ResizeNearestNeighborGrad',
  backendName: 'wasm',
  kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
};
