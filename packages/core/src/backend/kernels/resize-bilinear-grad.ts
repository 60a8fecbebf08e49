/**
 * ResizeBilinearGrad for wasm, four channels at a time (decoder upsampling layers run it at full resolution).
 * Source rows/columns and fractions are computed once per row and per column with the forward's own arithmetic,
 * so the result is the exact transpose of the forward resize, half-pixel centres included (the cpu reference
 * ignores halfPixelCenters in the gradient; with the default, false, both agree).
 */
import type { tf } from '../../tf';
import { resizeRatio, runResizeGrad, wasmKernelConfig, type KernelArgs } from './kernel-setup';

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
  return runResizeGrad(args, 'ResizeBilinearGrad', 'resizeBilinearGrad', (outSize, inSize, alignCorners, half) => {
    const { lo, hi, frac } = bilinearTaps(outSize, inSize, alignCorners, half);
    return [lo, hi, frac];
  });
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const resizeBilinearGradConfig: tf.KernelConfig = wasmKernelConfig('ResizeBilinearGrad', resizeBilinearGrad);
