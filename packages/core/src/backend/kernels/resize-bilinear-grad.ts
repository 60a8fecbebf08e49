/**
 * ResizeBilinearGrad for wasm, four channels at a time (decoder upsampling layers run it at full resolution).
 * Source rows/columns and fractions are computed once per row and per column with the forward's own arithmetic,
 * so the result is the exact transpose of the forward resize, half-pixel centres included (the cpu reference
 * ignores halfPixelCenters in the gradient; with the default, false, both agree).
 */
import type { tf } from '../../tf';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { splitRange } from '../simd/simd-pool';
import { asWasm, ptrOf } from './wasm-backend';

/** Per output index: floor and ceil source indices and the fraction, as tfjs's forward ResizeBilinear computes them. */
export function bilinearTaps(outSize: number, inSize: number, alignCorners: boolean, halfPixelCenters: boolean) {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
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

function resizeBilinearGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as { alignCorners: boolean; halfPixelCenters?: boolean };
  const [B, xH, xW, C] = images.shape as [number, number, number, number];
  const [, yH, yW] = dy.shape as [number, number, number, number];
  const dx = backend.makeOutput(images.shape, 'float32');
  if (B * xH * xW * C === 0) return dx;
  const rows = bilinearTaps(yH, xH, alignCorners, halfPixelCenters === true);
  const cols = bilinearTaps(yW, xW, alignCorners, halfPixelCenters === true);
  const arrays = [rows.lo, rows.hi, rows.frac, cols.lo, cols.hi, cols.frac];
  const ptrs = arrays.map((a) => backend.wasm._malloc(Math.max(4, a.length * 4)));
  try {
    arrays.forEach((a, i) => {
      const view = a instanceof Int32Array ? new Int32Array(backend.wasm.HEAPU8.buffer, ptrs[i], a.length) : new Float32Array(backend.wasm.HEAPU8.buffer, ptrs[i], a.length);
      view.set(a as never);
    });
    requireSimd(backend, 'ResizeBilinearGrad');
    const dyp = ptrOf(backend, dy);
    const dxp = ptrOf(backend, dx);
    const images = splitRange(B, simdThreads(backend), Math.ceil(65536 / (yH * yW * C)));
    runParts(
      backend,
      'ResizeBilinearGrad',
      'resizeBilinearGrad',
      images.map(
        ([b0, b1]) =>
          [dyp + b0 * yH * yW * C * 4, dxp + b0 * xH * xW * C * 4, b1 - b0, xH, xW, yH, yW, C, ptrs[0]!, ptrs[1]!, ptrs[2]!, ptrs[3]!, ptrs[4]!, ptrs[5]!] as [
            number, number, number, number, number, number, number, number, number, number, number, number, number, number,
          ],
      ),
    );
  } finally {
    for (const p of ptrs) backend.wasm._free(p);
  }
  return dx;
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const resizeBilinearGradConfig: tf.KernelConfig = {
  kernelName: 'ResizeBilinearGrad',
  backendName: 'wasm',
  kernelFunc: resizeBilinearGrad as unknown as tf.KernelFunc,
};
