/**
 * Conv2DBackpropFilter for wasm (stock tfjs-backend-wasm 4.22.0 has none, so no conv net can train on it).
 *
 * dW[kh, kw, ci, co] = sum over b, oh, ow of x[b, oh*s + kh - pad, ow*s + kw - pad, ci] * dy[b, oh, ow, co].
 * Read with ci as the batch and b as the channel axis, that is itself a convolution: the "image" is x transposed
 * to [Ci, H, W, B], the "filter" is dy transposed to [OH, OW, B, Co], the convolution's dilation is the forward
 * stride and its output [Ci, KH, KW, Co] is dW up to a transpose. So the whole reduction runs in XNNPACK's
 * convolution (SIMD, threaded) instead of a scalar loop.
 */
import { tf } from '../../tf';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { nhwcConvInfo, type ConvGeometryAttrs, type KernelArgs, wasmKernelConfig } from './kernel-setup';
import { splitRange } from '../simd/simd-pool';
import {
  paddedRowLength,
  runSingleChannel,
  singleChannelEnabled,
  type SingleChannelGradient,
} from './conv2d-single-channel';
import { convGemmFilter, gemmFor, geometryOf } from './gemm';
import { xnnConv2d } from './xnn-conv';
import {
  asWasm,
  callKernel,
  f32Of,
  makeView,
  ptrOf,
  release,
  releaseView,
  transpose,
  type WasmBackend,
} from './wasm-backend';

/** dW [KH, KW, Ci, Co] from x [B, H, W, Ci] and dy [B, OH, OW, Co] (NHWC). */
export function conv2dBackpropFilterSwapped(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { inChannels: Ci, outChannels: Co } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  // Bottom/right padding that makes the swapped convolution's output exactly KH x KW; negative means the forward
  // never read the last rows/columns of x, so the output comes out larger and is cropped.
  const padBottom = (OH - 1) * sh + KH - H - padTop;
  const padRight = (OW - 1) * sw + KW - W - padLeft;

  const xT = transpose(backend, x, [3, 1, 2, 0]);
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);
  let out = xnnConv2d(backend, xT, dyT, {
    padTop,
    padLeft,
    padBottom: Math.max(0, padBottom),
    padRight: Math.max(0, padRight),
    strideH: 1,
    strideW: 1,
    dilationH: sh,
    dilationW: sw,
  });
  release(backend, xT);
  release(backend, dyT);
  if (out.shape[1] !== KH || out.shape[2] !== KW) {
    const cropped = backend.makeOutput([Ci, KH, KW, Co], 'float32');
    requireSimd(backend, 'Conv2DBackpropFilter').crop(
      ptrOf(backend, out),
      ptrOf(backend, cropped),
      Ci,
      out.shape[1]!,
      out.shape[2]!,
      Co,
      0,
      0,
      KH,
      KW,
    );
    release(backend, out);
    out = cropped;
  }
  const dw = transpose(backend, out, [1, 2, 0, 3]);
  release(backend, out);
  return dw;
}

/**
 * Output pixels per GEMM chunk: a P^T block of about 2 MB (512K floats). Smaller blocks fit the cache better but
 * each chunk pays an XNNPACK operator set-up and, with threads, a pool synchronisation. Measured (CPU time, 1
 * thread) on the probe-net and DenseNet/decoder shapes, 256K-1M floats were within 5% of the best everywhere;
 * with 2 threads blocks under 256K lost up to 2x. MULTICHEXNET_BPF_CHUNK overrides it.
 */
function gemmChunk(rows: number, pixels: number): number {
  const floats = Number(
    (typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_BPF_CHUNK'] : undefined) ?? 524288,
  );
  const target = Math.floor(floats / rows) & ~3;
  return Math.min(Math.max(target, 256), pixels);
}

/**
 * dW [KH, KW, Ci, Co] as a GEMM on XNNPACK: dW[(kh, kw, ci), co] = P^T . dy, where P^T [KH*KW*Ci, pixels] is the
 * transposed im2col of x, built chunk by chunk (a few MB) by a SIMD kernel, and dy
 * [pixels, Co] is used in place (rows of the chunk, no copy) as the GEMM's packed operand.
 */
export function conv2dBackpropFilterXnn(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const {
    batchSize: B,
    inHeight: H,
    inWidth: W,
    outHeight: OH,
    outWidth: OW,
    filterHeight: KH,
    filterWidth: KW,
  } = info;
  const { inChannels: Ci, outChannels: Co } = info;
  const rows = KH * KW * Ci;
  const pixels = B * OH * OW;
  const chunk = gemmChunk(rows, pixels);
  const simd = requireSimd(backend, 'Conv2DBackpropFilter');
  const dw = backend.makeOutput([KH, KW, Ci, Co], 'float32');
  const pT = backend.makeOutput([1, rows, chunk], 'float32');
  for (let n0 = 0; n0 < pixels; n0 += chunk) {
    const count = Math.min(chunk, pixels - n0);
    // Columns split across the helper threads (multiples of 4 keep the 4x4 transposes aligned).
    const cols = splitRange(count >> 2, simdThreads(backend), 256).map(
      ([a, b], i, all) => [a * 4, i === all.length - 1 ? count : b * 4] as const,
    );
    const xp = ptrOf(backend, x);
    const pp = ptrOf(backend, pT);
    const { strideHeight: SH, strideWidth: SW, padInfo } = info;
    runParts(backend, 'Conv2DBackpropFilter', 'im2colT', cols, (c0, c1) => [
      xp,
      pp + c0 * 4,
      H,
      W,
      Ci,
      OH,
      OW,
      KH,
      KW,
      SH,
      SW,
      padInfo.top,
      padInfo.left,
      n0 + c0,
      c1 - c0,
      count,
    ]);
    const a = count === chunk ? pT : makeView(backend, ptrOf(backend, pT), [1, rows, count]);
    const b = makeView(backend, ptrOf(backend, dy) + n0 * Co * 4, [1, count, Co]);
    const part = callKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
    if (n0 === 0) f32Of(backend, dw).set(f32Of(backend, part));
    else simd.addInto(ptrOf(backend, dw), ptrOf(backend, part), rows * Co);
    release(backend, part);
    releaseView(backend, b);
    if (a !== pT) releaseView(backend, a);
  }
  release(backend, pT);
  return dw;
}

/** dW [KH, KW, 1, Co] of a single-input-channel convolution, by the direct SIMD kernel (Co a multiple of 4). */
export const conv2dBackpropFilter1ch: SingleChannelGradient = (backend, x, dy, info) => {
  const dw = backend.makeOutput([info.filterHeight, info.filterWidth, 1, info.outChannels], 'float32');
  const taps = info.filterHeight * info.filterWidth * info.outChannels;
  const xp = ptrOf(backend, x);
  const dyp = ptrOf(backend, dy);
  const dwp = ptrOf(backend, dw);
  // Part 0 accumulates into dw, the others into private blocks (after the slabs) added at the end.
  const partDw = (i: number, blocks: number) => (i === 0 ? dwp : blocks + i * taps * 4);
  runSingleChannel(backend, 'Conv2DBackpropFilter', 'conv1chBackpropFilter', info, {
    slab: paddedRowLength(info),
    extra: (parts) => parts * taps,
    pointers: (b0, i, blocks) => [
      xp + b0 * info.inHeight * info.inWidth * 4,
      dyp + b0 * info.outHeight * info.outWidth * info.outChannels * 4,
      partDw(i, blocks),
    ],
    finish: (simd, parts, blocks) => {
      for (let i = 1; i < parts; i++) simd.addInto(dwp, partDw(i, blocks), taps);
    },
  });
  return dw;
};

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGeometryAttrs & { filterShape: [number, number, number, number] };
  const { filterShape } = attrs;
  const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, filterShape, attrs);
  if (info.batchSize * info.outHeight * info.outWidth === 0 || info.inChannels * info.outChannels === 0) {
    const zeros = backend.makeOutput(filterShape, 'float32');
    f32Of(backend, zeros).fill(0);
    return zeros;
  }
  if (info.inChannels === 1 && info.outChannels % 4 === 0 && singleChannelEnabled()) {
    return conv2dBackpropFilter1ch(backend, x, dy, info);
  }
  const strategy = typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_BPF'] : undefined;
  if (strategy === 'swap') return conv2dBackpropFilterSwapped(backend, x, dy, info);
  if (!gemmFor('filter')) return conv2dBackpropFilterXnn(backend, x, dy, info);
  return convGemmFilter(backend, 'Conv2DBackpropFilter', x, dy, geometryOf(info), info.outChannels);
}

/** Kernel config: registered by registerWasmTrainingKernels(). */
export const conv2DBackpropFilterConfig: tf.KernelConfig = wasmKernelConfig(
  'Conv2DBackpropFilter',
  conv2DBackpropFilter,
);
