/**
 * Loads the AssemblyScript SIMD kernels (assembly/kernels.ts) on the wasm backend's own heap: the module imports
 * the backend's WebAssembly.Memory, so the kernels read and write tensors in place, with no copies.
 */
import {
  SIMD_KERNELS_PLAIN_RELAXED_WASM,
  SIMD_KERNELS_PLAIN_WASM,
  SIMD_KERNELS_SHARED_RELAXED_WASM,
  SIMD_KERNELS_SHARED_WASM,
} from './kernels-wasm.generated';

// The argument lists of the exported kernels (assembly/kernels.ts, assembly/gemm.ts), as labeled tuples: a geometry
// shared by several kernels is written once. Every pointer is a byte offset into the backend heap.

/** Filter size and strides of a sliding window, in the order every windowed kernel takes them. */
type WindowArgs = [KH: number, KW: number, SH: number, SW: number];
/** Dilations of a convolution's filter. */
type DilationArgs = [DH: number, DW: number];
/** Padding before the first row and column. */
type PadArgs = [padTop: number, padLeft: number];
/** The window of a convolution or pool without dilation: filter size, strides, padding. */
export type WindowGeometry = [...window: WindowArgs, ...pad: PadArgs];

/** Depthwise gradients after the three pointers; M is the channel multiplier. */
export type DepthwiseGeometry = [
  B: number,
  H: number,
  W: number,
  C: number,
  OH: number,
  OW: number,
  M: number,
  ...window: WindowArgs,
  ...dilation: DilationArgs,
  ...pad: PadArgs,
];

/** A convolution's geometry as the GEMM convolution kernels take it. */
export type ConvGeometryArgs = [
  H: number,
  W: number,
  Ci: number,
  OH: number,
  OW: number,
  ...window: WindowArgs,
  ...dilation: DilationArgs,
  ...pad: PadArgs,
];
export type Im2colArgs = [x: number, out: number, ...geometry: ConvGeometryArgs, n0: number, count: number];
/** convGemmRows after x. */
export type ConvGemmRowsArgs = [
  ...geometry: ConvGeometryArgs,
  n0: number,
  count: number,
  col: number,
  colRows: number,
  packedB: number,
  N: number,
  y: number,
  bias: number,
  relu: number,
];
/** convGemmFilterRows after x, dy. */
export type ConvGemmFilterRowsArgs = [
  ...geometry: ConvGeometryArgs,
  Co: number,
  n0: number,
  count: number,
  col: number,
  pack: number,
  dw: number,
  accumulate: number,
];

/** The direct single-input-channel convolution kernels, after the pointers and the batch size. */
export type SingleChannelGeometry = [
  H: number,
  W: number,
  OH: number,
  OW: number,
  ...window: WindowGeometry,
  Co: number,
];
/** The pooling gradient kernels, after the pointers and the batch size. */
export type PoolGeometry = [H: number, W: number, C: number, OH: number, OW: number, ...window: WindowGeometry];
/** The single-channel convolution gradients: three pointers, the batch size, the geometry, scratch and its row length. */
type SingleChannelGradArgs = [
  a: number,
  b: number,
  out: number,
  B: number,
  ...geometry: SingleChannelGeometry,
  scratch: number,
  padLen: number,
];

export type AdamArgs = [
  value: number,
  g: number,
  m: number,
  v: number,
  outValue: number,
  outM: number,
  outV: number,
  n: number,
  beta1: number,
  oneMinusBeta1: number,
  beta2: number,
  oneMinusBeta2: number,
  biasCorrection1: number,
  biasCorrection2: number,
  epsilon: number,
  negLr: number,
];

/** Both resize gradients start with dy [B, yH, yW, C] and dx [B, xH, xW, C]; their source tables follow. */
type ResizeGradArgs = [dy: number, dx: number, B: number, xH: number, xW: number, yH: number, yW: number, C: number];

/** The BatchNorm gradient kernels share these after x, dy (bnGradApply: after x, dy, dx). */
type BnGradTail = [rows: number, C: number, mean: number, scale: number, offset: number, relu: number];

/** The exported kernels; every pointer is a byte offset into the backend heap. */
export interface SimdKernels {
  bnStats(x: number, rows: number, C: number, shift: number, out: number): void;
  bnApply(x: number, y: number, rows: number, C: number, scale: number, offset: number, relu: number): void;
  bnGradReduce(...args: [x: number, dy: number, ...tail: BnGradTail, out: number]): void;
  bnGradApply(
    ...args: [
      x: number,
      dy: number,
      dx: number,
      rows: number,
      C: number,
      scale: number,
      offset: number,
      relu: number,
      mean: number,
      a: number,
      b: number,
      k: number,
    ]
  ): void;
  maxPoolGrad2x2(x: number, dy: number, dx: number, B: number, H: number, W: number, C: number): void;
  maxPoolGradGeneric(...args: [x: number, dy: number, dx: number, B: number, ...geometry: PoolGeometry]): void;
  avgPoolGrad(...args: [dy: number, dx: number, B: number, ...geometry: PoolGeometry, scale: number]): void;
  resizeBilinearGrad(
    ...args: [
      ...sizes: ResizeGradArgs,
      rowTop: number,
      rowBottom: number,
      rowFrac: number,
      colLeft: number,
      colRight: number,
      colFrac: number,
    ]
  ): void;
  resizeNearestGrad(...args: [...sizes: ResizeGradArgs, rowSrc: number, colSrc: number]): void;
  zeroInsert(
    src: number,
    dst: number,
    B: number,
    OH: number,
    OW: number,
    C: number,
    SH: number,
    SW: number,
    DH: number,
    DW: number,
  ): void;
  crop(
    src: number,
    dst: number,
    N: number,
    SH: number,
    SW: number,
    C: number,
    top: number,
    left: number,
    DH: number,
    DW: number,
  ): void;
  conv1ch(
    ...args: [
      x: number,
      w: number,
      bias: number,
      y: number,
      B: number,
      ...geometry: SingleChannelGeometry,
      relu: number,
      scratch: number,
      padLen: number,
    ]
  ): void;
  /** (dy, w, dx, ...): dx of a single-input-channel convolution. */
  conv1chBackpropInput(...args: SingleChannelGradArgs): void;
  /** (x, dy, dw, ...): dw of a single-input-channel convolution. */
  conv1chBackpropFilter(...args: SingleChannelGradArgs): void;
  im2colT(
    ...args: [
      x: number,
      out: number,
      H: number,
      W: number,
      Ci: number,
      OH: number,
      OW: number,
      ...window: WindowGeometry,
      n0: number,
      count: number,
      rowLen: number,
    ]
  ): void;
  addInto(acc: number, part: number, n: number): void;
  copyBlock(
    src: number,
    srcStride: number,
    srcOff: number,
    dst: number,
    dstStride: number,
    dstOff: number,
    rows: number,
    width: number,
  ): void;
  reluGrad(dy: number, x: number, dx: number, n: number): void;
  adamUpdate(...args: AdamArgs): void;
  gemmPackB(
    b: number,
    sbk: number,
    sbn: number,
    K: number,
    N: number,
    bp: number,
    Kp: number,
    k0: number,
    j0: number,
    j1: number,
  ): void;
  gemm(
    ...args: [
      M: number,
      N: number,
      K: number,
      a: number,
      sam: number,
      sak: number,
      bp: number,
      Kp: number,
      c: number,
      ldc: number,
      accumulate: number,
      bias: number,
      relu: number,
    ]
  ): void;
  im2col(...args: Im2colArgs): void;
  convGemmRows(x: number, ...rest: ConvGemmRowsArgs): void;
  convGemmFilterRows(x: number, dy: number, ...rest: ConvGemmFilterRowsArgs): void;
  colSums(x: number, rows: number, C: number, out: number): void;
  depthwiseBackpropFilter(x: number, dy: number, dw: number, ...geometry: DepthwiseGeometry): void;
  depthwiseBackpropInput(dy: number, f: number, dx: number, ...geometry: DepthwiseGeometry): void;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

type Variant = 'plain' | 'shared' | 'plainRelaxed' | 'sharedRelaxed';
const BINARIES: Record<Variant, string> = {
  plain: SIMD_KERNELS_PLAIN_WASM,
  shared: SIMD_KERNELS_SHARED_WASM,
  plainRelaxed: SIMD_KERNELS_PLAIN_RELAXED_WASM,
  sharedRelaxed: SIMD_KERNELS_SHARED_RELAXED_WASM,
};
const compiled: Partial<Record<Variant, WebAssembly.Module>> = {};

/** f32x4.relaxed_madd in the smallest valid module: whether this engine accepts relaxed SIMD. */
const RELAXED_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 0x0a, 0x0d, 1, 0x0b, 0,
  0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b,
]);

let relaxedState: boolean | null = null;

/** MULTICHEXNET_RELAXED_SIMD=0 keeps the SIMD128 kernels even where relaxed SIMD exists (read once). */
function relaxedWanted(): boolean {
  return (typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_RELAXED_SIMD'] : undefined) !== '0';
}

/**
 * Whether the kernels use relaxed SIMD (fused multiply-add in the GEMM). Node 20 has it behind
 * `--experimental-wasm-relaxed-simd`, which this sets at run time (V8 reads it when a module is compiled); Node 22
 * and current browsers have it on. Decided once per process, on the first call; MULTICHEXNET_RELAXED_SIMD=0 says no.
 */
export async function enableRelaxedSimd(): Promise<boolean> {
  if (relaxedState !== null) return relaxedState;
  relaxedState = false;
  if (!relaxedWanted()) return false;
  if (!WebAssembly.validate(RELAXED_PROBE) && typeof process !== 'undefined' && process.versions?.node !== undefined) {
    try {
      const v8 = (await import(/* @vite-ignore */ 'node:v8' as string)) as { setFlagsFromString(flags: string): void };
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      /* not settable here: SIMD128 kernels */
    }
  }
  relaxedState = WebAssembly.validate(RELAXED_PROBE);
  return relaxedState;
}

/** Whether the kernels instantiated from now on use relaxed SIMD (false before {@link enableRelaxedSimd}). */
export function relaxedSimdActive(): boolean {
  return relaxedState === true;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

function variantFor(memory: WebAssembly.Memory, relaxed = relaxedSimdActive()): Variant {
  return `${isShared(memory) ? 'shared' : 'plain'}${relaxed ? 'Relaxed' : ''}` as Variant;
}

/** The compiled module for this memory's variant (after compileSimdKernels or instantiateSimdKernels). */
export function compiledSimdModule(memory: WebAssembly.Memory): WebAssembly.Module | undefined {
  return compiled[variantFor(memory)];
}

/**
 * Compiles the variant for this memory ahead of time (browsers refuse synchronous compilation of larger modules on
 * the main thread; Node does not care), deciding first whether relaxed SIMD is on. Safe to call more than once.
 */
export async function compileSimdKernels(memory: WebAssembly.Memory): Promise<void> {
  await enableRelaxedSimd();
  const variant = variantFor(memory);
  if (compiled[variant] !== undefined) return;
  compiled[variant] = await WebAssembly.compile(decodeBase64(BINARIES[variant]));
}

/**
 * Instantiates the kernels on `memory` (the relaxed-SIMD variant when {@link enableRelaxedSimd} said yes, unless
 * `relaxed` says otherwise); null when this engine lacks SIMD128 (the callers then keep their non-SIMD path).
 */
export function instantiateSimdKernels(memory: WebAssembly.Memory, relaxed = relaxedSimdActive()): SimdKernels | null {
  const variant = variantFor(memory, relaxed);
  try {
    let mod = compiled[variant];
    if (mod === undefined) {
      mod = new WebAssembly.Module(decodeBase64(BINARIES[variant]));
      compiled[variant] = mod;
    }
    const instance = new WebAssembly.Instance(mod, { env: { memory } });
    return instance.exports as unknown as SimdKernels;
  } catch {
    return null;
  }
}
