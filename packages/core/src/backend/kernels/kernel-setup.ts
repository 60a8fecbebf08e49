/**
 * Set-up shared by the training kernels: attribute decoding, geometry, the split of a batch over the helper
 * threads and scratch tables on the wasm heap. Only the JavaScript around a kernel lives here; the loops stay in
 * each kernel's SIMD code.
 */
import { tf } from '../../tf';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { splitRange } from '../simd/simd-pool';
import type { PoolGeometry, SimdKernels, SingleChannelGeometry, WindowGeometry } from '../simd/simd-kernels';
import { heapAlloc, heapF32, heapFree, heapI32 } from './heap';
import { asWasm, ptrOf, type WasmBackend } from './wasm-backend';

/** The arguments tfjs hands a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** The config that registers `kernelFunc` as the wasm backend's kernel `kernelName`. */
export function wasmKernelConfig(
  kernelName: string,
  kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[],
): tf.KernelConfig {
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** Padding attribute of the conv and pool kernels. */
export type PadAttr = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/**
 * Whole images per part, so parts write disjoint memory: as many parts as helper threads, but none smaller than
 * about `floatsPerPart` floats (`floatsPerImage` floats each), where a thread would cost more than it saves.
 */
export function imageParts(
  backend: WasmBackend,
  batch: number,
  floatsPerImage: number,
  floatsPerPart: number,
): [number, number][] {
  return splitRange(batch, simdThreads(backend), Math.ceil(floatsPerPart / floatsPerImage));
}

/** What a pool gradient kernel starts from: its geometry, the dx it fills and the image split (null: nothing to do). */
export interface PoolGradSetup {
  backend: WasmBackend;
  dy: tf.TensorInfo;
  input: tf.TensorInfo;
  info: tf.backend_util.Conv2DInfo;
  dx: tf.TensorInfo;
  images: [number, number][] | null;
}

/** MaxPoolGrad / AvgPoolGrad: geometry as tfjs computes it, dx allocated, parts of at least 64K floats of x. */
export function poolGradSetup(args: KernelArgs, kernel: string): PoolGradSetup {
  const backend = asWasm(args.backend);
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: PadAttr;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = backend.makeOutput(input.shape, 'float32');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C } = info;
  if (B * H * W * C === 0) return { backend, dy, input, info, dx, images: null };
  requireSimd(backend, kernel);
  return { backend, dy, input, info, dx, images: imageParts(backend, B, H * W * C, 65536) };
}

/** Source tables of a resize along one axis (rows, then columns), as the forward resize computes them. */
export type ResizeAxisTables = (
  outSize: number,
  inSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
) => (Int32Array | Float32Array)[];

/**
 * ResizeBilinearGrad / ResizeNearestNeighborGrad: dx [B, xH, xW, C] allocated, the row and column tables of `axisTables`
 * copied to the heap, and the SIMD kernel `fn` run over parts of at least 64K floats of dy, with the arguments
 * (dy, dx, images, xH, xW, yH, yW, C, ...row tables, ...column tables).
 */
export function runResizeGrad(
  args: KernelArgs,
  kernel: string,
  fn: 'resizeBilinearGrad' | 'resizeNearestGrad',
  axisTables: ResizeAxisTables,
): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { images: x, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as {
    alignCorners: boolean;
    halfPixelCenters?: boolean;
  };
  const [B, xH, xW, C] = x.shape as [number, number, number, number];
  const [, yH, yW] = dy.shape as [number, number, number, number];
  const dx = backend.makeOutput(x.shape, 'float32');
  if (B * xH * xW * C === 0) return dx;
  requireSimd(backend, kernel);
  const images = imageParts(backend, B, yH * yW * C, 65536);
  const half = halfPixelCenters === true;
  const tables = [...axisTables(yH, xH, alignCorners, half), ...axisTables(yW, xW, alignCorners, half)];
  withHeapTables(backend, tables, (ptrs) => {
    const dyp = ptrOf(backend, dy);
    const dxp = ptrOf(backend, dx);
    runParts(backend, kernel, fn, images, (b0, b1) => {
      const part = [dyp + b0 * yH * yW * C * 4, dxp + b0 * xH * xW * C * 4, b1 - b0, xH, xW, yH, yW, C, ...ptrs];
      return part as Parameters<SimdKernels[typeof fn]>;
    });
  });
  return dx;
}

/** Input-per-output ratio of a resize along one axis, as tfjs's forward resizes compute it. */
export function resizeRatio(outSize: number, inSize: number, alignCorners: boolean): number {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  return effIn / effOut;
}

/**
 * Copies `tables` onto the wasm heap, runs `fn` with their addresses and frees them, also when `fn` throws.
 * The heap views are made after every `_malloc`, which may grow (and so detach) the heap.
 */
export function withHeapTables<T>(
  backend: WasmBackend,
  tables: readonly (Int32Array | Float32Array)[],
  fn: (ptrs: number[]) => T,
): T {
  const ptrs: number[] = [];
  try {
    for (const a of tables) ptrs.push(heapAlloc(backend, Math.max(4, a.length * 4)));
    tables.forEach((a, i) => {
      if (a instanceof Int32Array) heapI32(backend, ptrs[i]!, a.length).set(a);
      else heapF32(backend, ptrs[i]!, a.length).set(a);
    });
    return fn(ptrs);
  } finally {
    for (const p of ptrs) heapFree(backend, p);
  }
}

/** Attributes that fix a convolution's geometry (Conv2D and its two gradients). */
export interface ConvGeometryAttrs {
  strides: [number, number] | number;
  pad: PadAttr;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The forward convolution's geometry of a conv gradient kernel; these kernels take NHWC only. */
export function nhwcConvInfo(
  kernel: string,
  xShape: number[],
  filterShape: number[],
  attrs: ConvGeometryAttrs,
): tf.backend_util.Conv2DInfo {
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (fmt !== 'channelsLast') throw new Error(`${kernel} on wasm supports NHWC only, got ${attrs.dataFormat}`);
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    fmt,
  );
}

/** The window arguments (filter size, stride, top and left padding) the SIMD conv and pool kernels share. */
function windowGeometry(info: tf.backend_util.Conv2DInfo): WindowGeometry {
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  return [filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left];
}

/** The geometry arguments every direct single-channel SIMD kernel takes, in their order. */
export function singleChannelGeometry(info: tf.backend_util.Conv2DInfo): SingleChannelGeometry {
  const { inHeight, inWidth, outHeight, outWidth, outChannels } = info;
  return [inHeight, inWidth, outHeight, outWidth, ...windowGeometry(info), outChannels];
}

/** The geometry arguments of the pooling gradient kernels after the batch size, in their order. */
export function poolGeometry(info: tf.backend_util.Conv2DInfo): PoolGeometry {
  const { inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  return [inHeight, inWidth, inChannels, outHeight, outWidth, ...windowGeometry(info)];
}
