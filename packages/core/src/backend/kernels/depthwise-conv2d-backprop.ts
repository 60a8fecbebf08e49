/**
 * DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput for wasm. Stock tfjs-backend-wasm
 * 4.22.0 registers neither, so `tf.depthwiseConv2d` and `tf.separableConv2d` (and the layers built on them) could
 * not train there. Both are direct SIMD kernels over NHWC tensors (assembly/kernels.ts), split by images over the
 * helper threads: the filter gradient accumulates each part privately and adds the parts up.
 */
import { tf } from '../../tf';
import type { DepthwiseGeometry } from '../simd/simd-kernels';
import { requireSimd, runParts } from './kernel-context';
import { heapAlloc, heapFree } from './heap';
import { imageParts, type KernelArgs, type PadAttr, wasmKernelConfig } from './kernel-setup';
import { asWasm, f32Of, ptrOf, sizeOf } from './wasm-backend';

interface DepthwiseAttrs {
  strides: [number, number] | number;
  pad: PadAttr;
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Shape4 = [number, number, number, number];

/**
 * What both gradients start from: the forward's geometry (x of `inputShape`, or the `x` input; the filter of
 * `filterShape`, or the `filter` input) and the gradient, allocated with the shape its attribute `of` gives.
 */
function depthwiseGradSetup(args: KernelArgs, of: 'filterShape' | 'inputShape') {
  const backend = asWasm(args.backend);
  const attrs = args.attrs as unknown as DepthwiseAttrs & { filterShape?: Shape4; inputShape?: Shape4 };
  const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const info = tf.backend_util.computeConv2DInfo(
    (attrs.inputShape ?? inputs['x']!.shape) as Shape4,
    (attrs.filterShape ?? inputs['filter']!.shape) as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const shape = attrs[of]!;
  return { backend, info, shape, out: backend.makeOutput(shape, 'float32') };
}

/** The geometry arguments of both SIMD kernels, in their order. */
function geometry(info: tf.backend_util.Conv2DInfo, batch: number): DepthwiseGeometry {
  return [
    batch,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels / info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/** Images per part: about 128K multiply-adds of work at least, as many parts as threads. */
function parts(backend: ReturnType<typeof asWasm>, info: tf.backend_util.Conv2DInfo): [number, number][] {
  const perImage = info.outHeight * info.outWidth * info.outChannels * info.filterHeight * info.filterWidth;
  return imageParts(backend, info.batchSize, perImage, 131072);
}

function depthwiseConv2dNativeBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { backend, info, shape, out: dw } = depthwiseGradSetup(args, 'filterShape');
  const taps = sizeOf(shape);
  if (info.batchSize * info.outHeight * info.outWidth === 0 || taps === 0) {
    f32Of(backend, dw).fill(0);
    return dw;
  }
  const simd = requireSimd(backend, 'DepthwiseConv2dNativeBackpropFilter');
  const images = parts(backend, info);
  // Part 0 accumulates into dw, the others into private blocks added at the end.
  const scratch = images.length > 1 ? heapAlloc(backend, (images.length - 1) * taps * 4) : 0;
  try {
    const xp = ptrOf(backend, x);
    const dyp = ptrOf(backend, dy);
    const dwp = ptrOf(backend, dw);
    const partDw = (i: number) => (i === 0 ? dwp : scratch + (i - 1) * taps * 4);
    const xImage = info.inHeight * info.inWidth * info.inChannels * 4;
    const dyImage = info.outHeight * info.outWidth * info.outChannels * 4;
    runParts(backend, 'DepthwiseConv2dNativeBackpropFilter', 'depthwiseBackpropFilter', images, (b0, b1, i) => [
      xp + b0 * xImage,
      dyp + b0 * dyImage,
      partDw(i),
      ...geometry(info, b1 - b0),
    ]);
    for (let i = 1; i < images.length; i++) simd.addInto(dwp, partDw(i), taps);
  } finally {
    if (scratch !== 0) heapFree(backend, scratch);
  }
  return dw;
}

function depthwiseConv2dNativeBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { backend, info, shape, out: dx } = depthwiseGradSetup(args, 'inputShape');
  if (sizeOf(shape) === 0) return dx;
  if (info.outHeight * info.outWidth * info.outChannels === 0) {
    f32Of(backend, dx).fill(0);
    return dx;
  }
  requireSimd(backend, 'DepthwiseConv2dNativeBackpropInput');
  const dyp = ptrOf(backend, dy);
  const fp = ptrOf(backend, filter);
  const dxp = ptrOf(backend, dx);
  const xImage = info.inHeight * info.inWidth * info.inChannels * 4;
  const dyImage = info.outHeight * info.outWidth * info.outChannels * 4;
  runParts(backend, 'DepthwiseConv2dNativeBackpropInput', 'depthwiseBackpropInput', parts(backend, info), (b0, b1) => [
    dyp + b0 * dyImage,
    fp,
    dxp + b0 * xImage,
    ...geometry(info, b1 - b0),
  ]);
  return dx;
}

/** Kernel configs (missing in stock 4.22.0): registered by registerWasmTrainingKernels(). */
export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = wasmKernelConfig(
  'DepthwiseConv2dNativeBackpropFilter',
  depthwiseConv2dNativeBackpropFilter,
);
export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = wasmKernelConfig(
  'DepthwiseConv2dNativeBackpropInput',
  depthwiseConv2dNativeBackpropInput,
);
