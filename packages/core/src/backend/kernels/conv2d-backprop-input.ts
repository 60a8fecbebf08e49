/**
 * Conv2DBackpropInput for wasm on XNNPACK (stock 4.22.0 runs it as a scalar loop, ~8x slower for the same FLOPs).
 *
 * The input gradient of a stride-1 convolution is a stride-1 convolution of dy with the filter reversed in space
 * and with its in/out channels swapped, padded by (K - 1 - pad). A stride s > 1 first spreads dy over an s-times
 * finer grid with zeros in between (zero insertion). The same kernel is the forward pass of Conv2DTranspose.
 */
import { tf } from '../../tf';
import { requireSimd, runParts } from './kernel-context';
import { imageParts, nhwcConvInfo, type ConvGeometryAttrs, type KernelArgs, wasmKernelConfig } from './kernel-setup';
import {
  paddedRowLength,
  runSingleChannel,
  singleChannelEnabled,
  type SingleChannelGradient,
} from './conv2d-single-channel';
import { deferOutput } from './deferred';
import { convGemm, gemmFor, packReversedFilter } from './gemm';
import { xnnConv2d } from './xnn-conv';
import { asWasm, f32Of, ptrOf, release, type WasmBackend } from './wasm-backend';

/** filter [KH, KW, Ci, Co] -> [KH, KW, Co, Ci] reversed in both spatial axes. */
function reverseTransposedFilter(backend: WasmBackend, filter: tf.TensorInfo): tf.TensorInfo {
  const [KH, KW, Ci, Co] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([KH, KW, Co, Ci], 'float32');
  // Views after makeOutput: it may have grown the heap.
  const src = f32Of(backend, filter);
  const dst = f32Of(backend, out);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const s = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * Ci * Co;
      const d = (kh * KW + kw) * Co * Ci;
      for (let ci = 0; ci < Ci; ci++) {
        for (let co = 0; co < Co; co++) dst[d + co * Ci + ci] = src[s + ci * Co + co]!;
      }
    }
  }
  return out;
}

/** dy spread over the stride-1 grid, zeros between (dy itself for stride 1): [B, UH, UW, Co]. */
function zeroInserted(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): { src: tf.TensorInfo; UH: number; UW: number } {
  const { batchSize: B, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, outChannels: Co } = info;
  if (sh === 1 && sw === 1) return { src: dy, UH: OH, UW: OW };
  const UH = (OH - 1) * sh + 1;
  const UW = (OW - 1) * sw + 1;
  const src = backend.makeOutput([B, UH, UW, Co], 'float32');
  const dyp = ptrOf(backend, dy);
  const up = ptrOf(backend, src);
  const images = imageParts(backend, B, UH * UW * Co, 262144);
  runParts(backend, 'Conv2DBackpropInput', 'zeroInsert', images, (b0, b1) => [
    dyp + b0 * OH * OW * Co * 4,
    up + b0 * UH * UW * Co * 4,
    b1 - b0,
    OH,
    OW,
    Co,
    sh,
    sw,
    UH,
    UW,
  ]);
  return { src, UH, UW };
}

/**
 * dx [B, H, W, Ci] on our GEMM: the stride-1 convolution of (zero-inserted) dy with the reversed, channel-swapped
 * filter, padded by K - 1 - pad; im2col computes exactly H x W outputs, so nothing is cropped.
 */
export function conv2dBackpropInputGemm(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { src, UH, UW } = zeroInserted(backend, dy, info);
  const packed = packReversedFilter(backend, 'Conv2DBackpropInput', filter);
  try {
    const g = {
      B: info.batchSize,
      H: UH,
      W: UW,
      Ci: info.outChannels,
      OH: info.inHeight,
      OW: info.inWidth,
      KH: info.filterHeight,
      KW: info.filterWidth,
      SH: 1,
      SW: 1,
      DH: 1,
      DW: 1,
      padTop: info.filterHeight - 1 - info.padInfo.top,
      padLeft: info.filterWidth - 1 - info.padInfo.left,
    };
    return convGemm(backend, 'Conv2DBackpropInput', src, g, packed, 0, false);
  } finally {
    packed.free();
    if (src !== dy) release(backend, src);
  }
}

/** dx [B, H, W, Ci] from dy [B, OH, OW, Co] and filter [KH, KW, Ci, Co] (NHWC), on XNNPACK. */
export function conv2dBackpropInputXnn(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W } = info;
  const { filterHeight: KH, filterWidth: KW, inChannels: Ci } = info;
  const { src, UH, UW } = zeroInserted(backend, dy, info);
  // Pads of the equivalent full correlation; negative ones are clamped to 0 and the excess cropped below.
  const top = KH - 1 - info.padInfo.top;
  const left = KW - 1 - info.padInfo.left;
  const bottom = H + KH - 1 - UH - top;
  const right = W + KW - 1 - UW - left;
  const wRot = reverseTransposedFilter(backend, filter);
  let out = xnnConv2d(backend, src, wRot, {
    padTop: Math.max(0, top),
    padLeft: Math.max(0, left),
    padBottom: Math.max(0, bottom),
    padRight: Math.max(0, right),
    strideH: 1,
    strideW: 1,
    dilationH: 1,
    dilationW: 1,
  });
  release(backend, wRot);
  if (src !== dy) release(backend, src);
  if (out.shape[1] !== H || out.shape[2] !== W) {
    const cropped = backend.makeOutput([B, H, W, Ci], 'float32');
    requireSimd(backend, 'Conv2DBackpropInput').crop(
      ptrOf(backend, out),
      ptrOf(backend, cropped),
      B,
      out.shape[1]!,
      out.shape[2]!,
      Ci,
      Math.max(0, -top),
      Math.max(0, -left),
      H,
      W,
    );
    release(backend, out);
    out = cropped;
  }
  return out;
}

/** dx [B, H, W, 1] of a single-input-channel convolution by the direct SIMD kernel (Co a multiple of 4). */
export const conv2dBackpropInput1ch: SingleChannelGradient = (backend, dy, filter, info) => {
  const dx = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, 1], 'float32');
  const dyp = ptrOf(backend, dy);
  const fp = ptrOf(backend, filter);
  const dxp = ptrOf(backend, dx);
  runSingleChannel(backend, 'Conv2DBackpropInput', 'conv1chBackpropInput', info, {
    slab: (info.filterHeight + info.strideHeight) * paddedRowLength(info),
    pointers: (b0) => [
      dyp + b0 * info.outHeight * info.outWidth * info.outChannels * 4,
      fp,
      dxp + b0 * info.inHeight * info.inWidth * 4,
    ],
  });
  return dx;
};

function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGeometryAttrs & { inputShape: [number, number, number, number] };
  const { inputShape } = attrs;
  const info = nhwcConvInfo('Conv2DBackpropInput', inputShape, filter.shape, attrs);
  if (info.batchSize * info.inHeight * info.inWidth * info.inChannels === 0) {
    return backend.makeOutput(inputShape, 'float32');
  }
  if (info.outHeight * info.outWidth * info.outChannels === 0) {
    const zeros = backend.makeOutput(inputShape, 'float32');
    f32Of(backend, zeros).fill(0);
    return zeros;
  }
  const compute = () =>
    // One input channel: XNNPACK would run a GEMM with a single output column.
    info.inChannels === 1 && info.outChannels % 4 === 0 && singleChannelEnabled()
      ? conv2dBackpropInput1ch(backend, dy, filter, info)
      : gemmFor('input')
        ? conv2dBackpropInputGemm(backend, dy, filter, info)
        : conv2dBackpropInputXnn(backend, dy, filter, info);
  // The input gradient of a first layer (the image's) is computed by tfjs and never read: compute it only on use.
  if (typeof process !== 'undefined' && process.env?.['MULTICHEXNET_DEFER'] === '0') return compute();
  return deferOutput(backend, [...inputShape], [dy, filter], compute);
}

/** Kernel config: replaces the stock scalar kernel; registered by registerWasmTrainingKernels(). */
export const conv2DBackpropInputConfig: tf.KernelConfig = wasmKernelConfig('Conv2DBackpropInput', conv2DBackpropInput);
