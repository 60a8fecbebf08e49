/**
 * ResizeBilinearGrad for wasm, four channels at a time (decoder upsampling layers run it at full resolution).
 * Source rows/columns and fractions are computed once per row and per column with the forward's own arithmetic,
 * so the result is the exact transpose of the forward resize, half-pixel centres included (the cpu reference
 * ignores halfPixelCenters in the gradient; with the default, false, both agree).
 */
import type { tf } from '../../tf';
import { runParts } from './kernel-context';
import { resizeGradSetup, resizeRatio, withHeapTables, type KernelArgs } from './kernel-setup';
import { ptrOf } from './wasm-backend';

/** Per output index: floor and ceil source indices and the fraction, as tfjs's forward ResizeBilinear computes them. */
export function bilinearTaps(outSize: number, inSize: number, alignCorners: boolean, halfPixelCenters: boolean) {
  const ratio = resizeRatio(outSize, inSize, alignCorners);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = halfPixelCenters ? ratio * (i + 0.5) - 0.5 : ratio * i;
    const floor = Math.max(0, Math.floor(src));
    lo[i] = floor;
    hi[i] = Math.min(inSize - 1, Math.ceil(src));
    frac[i] = src - floor;
  }
  return { lo, hi, frac };
}

function resizeBilinearGrad(args: KernelArgs): tf.TensorInfo {
  const { backend, dy, dx, alignCorners, halfPixelCenters, xH, xW, C, yH, yW, images } = resizeGradSetup(
    args,
    'ResizeBilinearGrad',
  );
  if (images === null) return dx;
  const rows = bilinearTaps(yH, xH, alignCorners, halfPixelCenters);
  const cols = bilinearTaps(yW, xW, alignCorners, halfPixelCenters);
  withHeapTables(backend, [rows.lo, rows.hi, rows.frac, cols.lo, cols.hi, cols.frac], (ptrs) => {
    const dyp = ptrOf(backend, dy);
    const dxp = ptrOf(backend, dx);
    runParts(backend, 'ResizeBilinearGrad', 'resizeBilinearGrad', images, (b0, b1) => [
      dyp + b0 * yH * yW * C * 4,
      dxp + b0 * xH * xW * C * 4,
      b1 - b0,
      xH,
      xW,
      yH,
      yW,
      C,
      ptrs[0]!,
      ptrs[1]!,
      ptrs[2]!,
      ptrs[3]!,
      ptrs[4]!,
      ptrs[5]!,
    ]);
  });
  return dx;
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const resizeBilinearGradConfig: tf.KernelConfig = {
  kernelName: 'ResizeBilinearGrad',
  backendName: 'wasm',
  kernelFunc: resizeBilinearGrad as unknown as tf.KernelFunc,
};
