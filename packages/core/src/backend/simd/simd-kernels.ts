/**
 * Loads the AssemblyScript SIMD kernels (assembly/kernels.ts) on the wasm backend's own heap: the module imports
 * the backend's WebAssembly.Memory, so the kernels read and write tensors in place, with no copies.
 */
import { SIMD_KERNELS_PLAIN_WASM, SIMD_KERNELS_SHARED_WASM } from './kernels-wasm.generated';

/** B, H, W, C, OH, OW, M (channel multiplier), KH, KW, stride h, stride w, dilation h, dilation w, pad top, pad left. */
export type DepthwiseGeometry = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** The exported kernels; every pointer is a byte offset into the backend heap. */
export interface SimdKernels {
  bnStats(x: number, rows: number, C: number, shift: number, out: number): void;
  bnApply(x: number, y: number, rows: number, C: number, scale: number, offset: number, relu: number): void;
  bnGradReduce(
    x: number,
    dy: number,
    rows: number,
    C: number,
    mean: number,
    scale: number,
    offset: number,
    relu: number,
    out: number,
  ): void;
  bnGradApply(
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
  ): void;
  maxPoolGrad2x2(x: number, dy: number, dx: number, B: number, H: number, W: number, C: number): void;
  maxPoolGradGeneric(
    x: number,
    dy: number,
    dx: number,
    B: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    padTop: number,
    padLeft: number,
  ): void;
  avgPoolGrad(
    dy: number,
    dx: number,
    B: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    padTop: number,
    padLeft: number,
    scale: number,
  ): void;
  resizeBilinearGrad(
    dy: number,
    dx: number,
    B: number,
    xH: number,
    xW: number,
    yH: number,
    yW: number,
    C: number,
    rowTop: number,
    rowBottom: number,
    rowFrac: number,
    colLeft: number,
    colRight: number,
    colFrac: number,
  ): void;
  resizeNearestGrad(dy: number, dx: number, B: number, xH: number, xW: number, yH: number, yW: number, C: number, rowSrc: number, colSrc: number): void;
  zeroInsert(src: number, dst: number, B: number, OH: number, OW: number, C: number, SH: number, SW: number, DH: number, DW: number): void;
  crop(src: number, dst: number, N: number, SH: number, SW: number, C: number, top: number, left: number, DH: number, DW: number): void;
  conv1ch(
    x: number,
    w: number,
    bias: number,
    y: number,
    B: number,
    H: number,
    W: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    padTop: number,
    padLeft: number,
    Co: number,
    relu: number,
    scratch: number,
    padLen: number,
  ): void;
  conv1chBackpropInput(
    dy: number,
    w: number,
    dx: number,
    B: number,
    H: number,
    W: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    padTop: number,
    padLeft: number,
    Co: number,
    scratch: number,
    padLen: number,
  ): void;
  im2colT(
    x: number,
    out: number,
    H: number,
    W: number,
    Ci: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    padTop: number,
    padLeft: number,
    n0: number,
    count: number,
    rowLen: number,
  ): void;
  addInto(acc: number, part: number, n: number): void;
  copyBlock(src: number, srcStride: number, srcOff: number, dst: number, dstStride: number, dstOff: number, rows: number, width: number): void;
  reluGrad(dy: number, x: number, dx: number, n: number): void;
  colSums(x: number, rows: number, C: number, out: number): void;
  depthwiseBackpropFilter(x: number, dy: number, dw: number, ...geometry: DepthwiseGeometry): void;
  depthwiseBackpropInput(dy: number, f: number, dx: number, ...geometry: DepthwiseGeometry): void;
  conv1chBackpropFilter(
    x: number,
    dy: number,
    dw: number,
    B: number,
    H: number,
    W: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    padTop: number,
    padLeft: number,
    Co: number,
    scratch: number,
    padLen: number,
  ): void;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const compiled: { plain?: WebAssembly.Module; shared?: WebAssembly.Module } = {};

/** The compiled module for this memory's variant (after compileSimdKernels or instantiateSimdKernels). */
export function compiledSimdModule(memory: WebAssembly.Memory): WebAssembly.Module | undefined {
  return compiled[isShared(memory) ? 'shared' : 'plain'];
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * Compiles the variant for this memory ahead of time (browsers refuse synchronous compilation of larger modules on
 * the main thread; Node does not care). Safe to call more than once.
 */
export async function compileSimdKernels(memory: WebAssembly.Memory): Promise<void> {
  const variant = isShared(memory) ? 'shared' : 'plain';
  if (compiled[variant] !== undefined) return;
  const bytes = decodeBase64(variant === 'shared' ? SIMD_KERNELS_SHARED_WASM : SIMD_KERNELS_PLAIN_WASM);
  compiled[variant] = await WebAssembly.compile(bytes);
}

/**
 * Instantiates the kernels on `memory`; null when this engine lacks SIMD128 (the callers then keep their
 * non-SIMD path).
 */
export function instantiateSimdKernels(memory: WebAssembly.Memory): SimdKernels | null {
  const variant = isShared(memory) ? 'shared' : 'plain';
  try {
    let mod = compiled[variant];
    if (mod === undefined) {
      mod = new WebAssembly.Module(decodeBase64(variant === 'shared' ? SIMD_KERNELS_SHARED_WASM : SIMD_KERNELS_PLAIN_WASM));
      compiled[variant] = mod;
    }
    const instance = new WebAssembly.Instance(mod, { env: { memory } });
    return instance.exports as unknown as SimdKernels;
  } catch {
    return null;
  }
}
