/**
 * Conv2D / FusedConv2D for wasm with a direct SIMD path for one input channel (the first layer of a grey-scale
 * X-ray network). XNNPACK treats that case as a GEMM whose inner dimension is only KH*KW and runs it at a few
 * GFLOP/s; broadcasting each input pixel over the output channels is several times faster. Every other case goes
 * to the stock kernel unchanged.
 */
import { tf } from '../../tf';
import type { SimdKernels } from '../simd/simd-kernels';
import { requireSimd, runParts } from './kernel-context';
import {
  imageParts,
  nhwcConvInfo,
  singleChannelGeometry,
  type ConvGeometryAttrs,
  wasmKernelConfig,
} from './kernel-setup';
import { heapAlloc, heapF32, heapFree } from './heap';
import { convGemm, gemmFor, geometryOf, packFilter } from './gemm';
import { runStock } from './stock-kernels';
import { asWasm, ptrOf, sizeOf, type WasmBackend } from './wasm-backend';

interface ConvAttrs extends ConvGeometryAttrs {
  dilations: [number, number] | number;
  activation?: string;
}

/**
 * Largest filter area the direct path takes. Measured (CPU time, 1 thread, batch 16, ours vs XNNPACK): 3x3 16
 * channels at 256 px 50 vs 60 ms, 3x3 32 channels at 128 px 25 vs 29 ms, 7x7 stride-2 stems 19-25 vs 29-36 ms
 * (16 channels) and 99-117 vs 144-161 ms (64 channels); larger filters untested.
 */
const MAX_TAPS = 49;

/** MULTICHEXNET_CONV1CH=0 turns the direct single-channel paths off (to measure them); read per call. */
export function singleChannelEnabled(): boolean {
  return (typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_CONV1CH'] : undefined) !== '0';
}

/** Geometry when the direct single-channel path applies, else null. */
export function singleChannelConvInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Pick<ConvAttrs, 'strides' | 'pad' | 'dataFormat' | 'dilations' | 'dimRoundingMode'>,
): tf.backend_util.Conv2DInfo | null {
  if (filterShape[2] !== 1 || xShape.length !== 4 || xShape[3] !== 1 || !singleChannelEnabled()) return null;
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  if (fmt !== 'channelsLast') return null;
  const dil = attrs.dilations ?? 1;
  if (!(dil === 1 || (Array.isArray(dil) && dil[0] === 1 && dil[1] === 1))) return null;
  const info = nhwcConvInfo('Conv2D', xShape, filterShape, { ...attrs, dataFormat: 'NHWC' });
  if (info.outChannels % 4 !== 0 || info.filterHeight * info.filterWidth > MAX_TAPS) return null;
  if (info.batchSize * info.outHeight * info.outWidth === 0) return null;
  return info;
}

/** Scratch row length covering padding and the taps read past the last output column (multiple of 4). */
export function paddedRowLength(info: tf.backend_util.Conv2DInfo): number {
  const reach = (info.outWidth - 1) * info.strideWidth + 3 * Math.ceil(info.filterWidth / 3);
  return (Math.max(info.padInfo.left + info.inWidth, reach) + 3) & ~3;
}

/** A gradient of the single-channel convolution on the direct kernel: (backend, its two inputs, geometry) -> it. */
export type SingleChannelGradient = (
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
) => tf.TensorInfo;

/** How {@link runSingleChannel} lays out a kernel's call. */
export interface SingleChannelRun {
  /** Scratch floats of each part (the kernel's padded rows). */
  slab: number;
  /** Floats after the parts' slabs for the caller, given the part count (default none). */
  extra?: (parts: number) => number;
  /** Fills the extra floats at `extraAt` before the kernel runs. */
  prepare?: (extraAt: number) => void;
  /** The kernel's pointer arguments for the part from image `b0`; `extraAt` is the address of the extra floats. */
  pointers: (b0: number, part: number, extraAt: number) => number[];
  /** Arguments between the geometry and the scratch (conv1ch's relu flag). */
  flags?: number[];
  /** Runs after the kernel, before the scratch is freed (the filter gradient adds its parts up). */
  finish?: (simd: SimdKernels, parts: number, extraAt: number) => void;
}

/**
 * Runs a direct single-channel SIMD kernel (conv1ch and its two gradients) over parts of the batch, whole images of
 * at least 256K floats of the Co-channel side each, with per-part scratch on the heap (freed also when it throws):
 * (...pointers, images, ...singleChannelGeometry, ...flags, scratch, paddedRowLength).
 */
export function runSingleChannel(
  backend: WasmBackend,
  kernel: string,
  fn: 'conv1ch' | 'conv1chBackpropInput' | 'conv1chBackpropFilter',
  info: tf.backend_util.Conv2DInfo,
  run: SingleChannelRun,
): void {
  const padLen = paddedRowLength(info);
  const images = imageParts(backend, info.batchSize, info.outHeight * info.outWidth * info.outChannels, 262144);
  const simd = requireSimd(backend, kernel);
  const scratch = heapAlloc(backend, (images.length * run.slab + (run.extra?.(images.length) ?? 0)) * 4);
  const extraAt = scratch + images.length * run.slab * 4;
  try {
    run.prepare?.(extraAt);
    runParts(backend, kernel, fn, images, (b0, b1, i) => {
      const geometry = singleChannelGeometry(info);
      const args = [
        ...run.pointers(b0, i, extraAt),
        b1 - b0,
        ...geometry,
        ...(run.flags ?? []),
        scratch + i * run.slab * 4,
      ];
      return [...args, padLen] as Parameters<SimdKernels[typeof fn]>;
    });
    run.finish?.(simd, images.length, extraAt);
  } finally {
    heapFree(backend, scratch);
  }
}

/** A fused convolution y [B, OH, OW, Co] of x and filter [KH, KW, Ci, Co], + bias [Co] (optional), relu optional. */
type FusedConv = (
  backend: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  relu: boolean,
  info: tf.backend_util.Conv2DInfo,
) => tf.TensorInfo;

/** y [B, OH, OW, Co] of x [B, H, W, 1] and filter [KH, KW, 1, Co]; bias [Co] optional; relu optional. */
export const conv1ch: FusedConv = (backend, x, filter, bias, relu, info) => {
  const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
  const xp = ptrOf(backend, x);
  const fp = ptrOf(backend, filter);
  const yp = ptrOf(backend, out);
  // Scratch: padded rows per part, then Co zeros standing in for a missing bias.
  runSingleChannel(backend, 'Conv2D', 'conv1ch', info, {
    slab: info.filterHeight * paddedRowLength(info),
    extra: () => info.outChannels,
    prepare: (zeros) => {
      if (bias === null) heapF32(backend, zeros, info.outChannels).fill(0);
    },
    pointers: (b0, _part, zeros) => [
      xp + b0 * info.inHeight * info.inWidth * 4,
      fp,
      bias === null ? zeros : ptrOf(backend, bias),
      yp + b0 * info.outHeight * info.outWidth * info.outChannels * 4,
    ],
    flags: [relu ? 1 : 0],
  });
  return out;
};

/** Geometry when our GEMM takes the convolution (NHWC float32, gemmFor('forward')), else null. */
function gemmConvInfo(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: ConvAttrs): tf.backend_util.Conv2DInfo | null {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || !gemmFor('forward')) return null;
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  if (fmt !== 'channelsLast') return null;
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    fmt,
  );
}

/** y [B, OH, OW, Co] on our GEMM, + bias [Co] (optional), relu optional. */
const convOnGemm: FusedConv = (backend, x, filter, bias, relu, info) => {
  const packed = packFilter(backend, 'Conv2D', filter);
  try {
    return convGemm(backend, 'Conv2D', x, geometryOf(info), packed, bias === null ? 0 : ptrOf(backend, bias), relu);
  } finally {
    packed.free();
  }
};

function conv2D(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const info = singleChannelConvInfo(x.shape, filter.shape, attrs);
  if (info !== null) return conv1ch(asWasm(args.backend), x, filter, null, false, info);
  const gemmInfo = gemmConvInfo(x, filter, attrs);
  if (gemmInfo !== null) return convOnGemm(asWasm(args.backend), x, filter, null, false, gemmInfo);
  return runStock('Conv2D', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

function fusedConv2D(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const attrs = args.attrs as unknown as ConvAttrs;
  const activation = attrs.activation ?? 'linear';
  const ours =
    (activation === 'linear' || activation === 'relu') &&
    preluActivationWeights == null &&
    (bias == null || (bias.dtype === 'float32' && sizeOf(bias.shape) === filter!.shape[3]));
  const info = ours ? singleChannelConvInfo(x!.shape, filter!.shape, attrs) : null;
  if (info !== null) return conv1ch(asWasm(args.backend), x!, filter!, bias ?? null, activation === 'relu', info);
  const gemmInfo = ours ? gemmConvInfo(x!, filter!, attrs) : null;
  if (gemmInfo !== null)
    return convOnGemm(asWasm(args.backend), x!, filter!, bias ?? null, activation === 'relu', gemmInfo);
  return runStock('FusedConv2D', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

/** Kernel configs: registered by registerWasmTrainingKernels() (the stock kernels stay the fallback). */
export const conv2DConfig: tf.KernelConfig = wasmKernelConfig('Conv2D', conv2D);
export const fusedConv2DConfig: tf.KernelConfig = wasmKernelConfig('FusedConv2D', fusedConv2D);
