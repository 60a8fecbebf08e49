/**
 * AvgPoolGrad for wasm, four channels at a time (the stock kernel is a scalar loop; DenseNet transitions run it
 * on every block). Same semantics as tfjs: each window spreads dy / (KH * KW) over its taps inside the image.
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

function avgPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
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
  requireSimd(backend, 'AvgPoolGrad');
  const images = splitRange(B, simdThreads(backend), Math.ceil(65536 / (H * W * C)));
  const dyp = ptrOf(backend, dy);
  const dxp = ptrOf(backend, dx);
  const scale = 1 / (info.filterHeight * info.filterWidth);
  runParts(
    backend,
    'AvgPoolGrad',
    'avgPoolGrad',
    images.map(
      ([b0, b1]) =>
        [dyp + b0 * OH * OW * C * 4, dxp + b0 * H * W * C * 4, b1 - b0, H, W, C, OH, OW, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, scale] as [
          number, number, number, number, number, number, number, number, number, number, number, number, number, number, number,
        ],
    ),
  );
  return dx;
}

/** Kernel config: replaces the stock scalar kernel; registered by registerWasmTrainingKernels(). */
export const avgPoolGradConfig: tf.KernelConfig = {
  kernelName: 'AvgPoolGrad',
  backendName: 'wasm',
  kernelFunc: avgPoolGrad as unknown as tf.KernelFunc,
};
