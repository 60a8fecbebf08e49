/**
 * MaxPoolGrad for wasm, replacing the stock kernel, which is a scalar loop and whose running maximum starts at
 * the smallest positive float: a window of only negative values then passes no gradient at all. Here the
 * gradient of a window goes to its first maximum (strict >, row-major scan), as TensorFlow does, starting from
 * the window's first element. 2x2 windows with stride 2 and no padding (every U-Net / VGG style pool) take a
 * SIMD path that writes each element once.
 */
import { tf } from '../../tf';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { splitRange } from '../simd/simd-pool';
import { asWasm, ptrOf } from './wasm-backend';

interface Attrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as Attrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = backend.makeOutput(input.shape, 'float32');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  if (B * H * W * C === 0) return dx;
  requireSimd(backend, 'MaxPoolGrad');
  const p = info.padInfo;
  const tiles2x2 =
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    p.top === 0 &&
    p.left === 0 &&
    OH === Math.floor(H / 2) &&
    OW === Math.floor(W / 2);
  // Images split across the helper threads: disjoint dx.
  const images = splitRange(B, simdThreads(backend), Math.ceil(65536 / (H * W * C)));
  const xp = ptrOf(backend, input);
  const dyp = ptrOf(backend, dy);
  const dxp = ptrOf(backend, dx);
  const inImg = H * W * C * 4;
  const outImg = OH * OW * C * 4;
  if (tiles2x2) {
    runParts(backend, 'MaxPoolGrad', 'maxPoolGrad2x2', images.map(([b0, b1]) => [xp + b0 * inImg, dyp + b0 * outImg, dxp + b0 * inImg, b1 - b0, H, W, C] as [number, number, number, number, number, number, number]));
  } else {
    runParts(
      backend,
      'MaxPoolGrad',
      'maxPoolGradGeneric',
      images.map(
        ([b0, b1]) =>
          [xp + b0 * inImg, dyp + b0 * outImg, dxp + b0 * inImg, b1 - b0, H, W, C, OH, OW, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, p.left] as [
            number, number, number, number, number, number, number, number, number, number, number, number, number, number, number,
          ],
      ),
    );
  }
  return dx;
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
