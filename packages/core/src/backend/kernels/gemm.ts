/**
 * Convolutions and matrix products on MultiCheXNet's own GEMM (assembly/gemm.ts): a 4 x 8 SIMD micro-kernel,
 * with relaxed-SIMD fused multiply-add where the engine has it. XNNPACK, inside tfjs-backend-wasm, has no fused
 * multiply-add in its wasm build and runs tf.matMul through a slow path; with FMA this GEMM roughly doubles the
 * arithmetic per cycle (`npm run bench`, section `densenet121`, reports both peaks).
 *
 * A convolution is a GEMM of im2col(x) [pixels, KH*KW*Ci] and the filter [KH*KW*Ci, Co] (the NHWC filter layout
 * already is that matrix); im2col is built 512 KB at a time per thread, and a 1 x 1 stride-1 convolution reads x in
 * place. The input gradient is the same GEMM on dy (zero-inserted for stride > 1) with the filter reversed and
 * transposed; the filter gradient is im2col(x)^T . dy. Work is split by output rows (pixels) over the helper threads.
 */
import { tf } from '../../tf';
import type { ConvGeometryArgs } from '../simd/simd-kernels';
import { relaxedSimdActive } from '../simd/simd-kernels';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { heapAlloc, heapF32, heapFree } from './heap';
import { splitRange } from '../simd/simd-pool';
import { ptrOf, type WasmBackend } from './wasm-backend';

/** Where our GEMM replaces XNNPACK: `MULTICHEXNET_GEMM` = 0 (never), 1 (always), unset: see {@link gemmFor}. */
function gemmSetting(): string | undefined {
  return typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_GEMM'] : undefined;
}

/**
 * Whether a convolution direction runs on our GEMM. The filter gradient always does (stock has none); the forward
 * pass and the input gradient do when relaxed SIMD is on (with separate multiply and add XNNPACK is as fast).
 */
export function gemmFor(direction: 'forward' | 'input' | 'filter' | 'matmul'): boolean {
  const setting = gemmSetting();
  if (setting === '0') return false;
  if (setting === '1' || direction === 'filter' || direction === 'matmul') return true;
  return relaxedSimdActive();
}

/** A matrix in the heap: element (i, j) at ptr + i*si + j*sj bytes. */
export interface HeapMatrix {
  ptr: number;
  si: number;
  sj: number;
}

/** B packed into 8-column panels (K rows each), ready for gemm; free() releases it. */
export interface PackedB {
  ptr: number;
  K: number;
  N: number;
  free(): void;
}

/**
 * Packs a K x N matrix given as segments stacked along K (each with its own layout, e.g. the taps of a reversed
 * filter), split by panels over the helper threads.
 */
export function packB(
  backend: WasmBackend,
  kernel: string,
  segments: (HeapMatrix & { rows: number })[],
  N: number,
): PackedB {
  const K = segments.reduce((a, s) => a + s.rows, 0);
  const panels = Math.ceil(N / 8);
  const ptr = heapAlloc(backend, Math.max(32, panels * K * 32));
  try {
    const ranges = splitRange(panels, simdThreads(backend), Math.max(1, Math.ceil(65536 / Math.max(1, K * 8))));
    let k0 = 0;
    for (const s of segments) {
      runParts(backend, kernel, 'gemmPackB', ranges, (j0, j1) => [s.ptr, s.si, s.sj, s.rows, N, ptr, K, k0, j0, j1]);
      k0 += s.rows;
    }
  } catch (e) {
    heapFree(backend, ptr);
    throw e;
  }
  return { ptr, K, N, free: () => heapFree(backend, ptr) };
}

/** C [M, N] (row-major, ldc bytes) = A . B (+ C), + bias, relu; split by rows of C over the helper threads. */
export function gemm(
  backend: WasmBackend,
  kernel: string,
  M: number,
  a: HeapMatrix,
  b: PackedB,
  c: { ptr: number; ldc: number },
  opts: { accumulate?: boolean; bias?: number; relu?: boolean } = {},
): void {
  requireSimd(backend, kernel);
  const rows = splitRange(
    Math.ceil(M / 4),
    simdThreads(backend),
    Math.max(1, Math.ceil(16384 / Math.max(1, b.K * b.N))),
  ).map(([r0, r1]) => [r0 * 4, Math.min(M, r1 * 4)] as const);
  runParts(backend, kernel, 'gemm', rows, (m0, m1) => [
    m1 - m0,
    b.N,
    b.K,
    a.ptr + m0 * a.si,
    a.si,
    a.sj,
    b.ptr,
    b.K,
    c.ptr + m0 * c.ldc,
    c.ldc,
    opts.accumulate ? 1 : 0,
    opts.bias ?? 0,
    opts.relu ? 1 : 0,
  ]);
}

/** Geometry of a convolution as our kernels take it. */
export interface ConvGeometry {
  B: number;
  H: number;
  W: number;
  Ci: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  padTop: number;
  padLeft: number;
}

/** The geometry of tfjs's Conv2DInfo (NHWC). */
export function geometryOf(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    B: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    Ci: info.inChannels,
    OH: info.outHeight,
    OW: info.outWidth,
    KH: info.filterHeight,
    KW: info.filterWidth,
    SH: info.strideHeight,
    SW: info.strideWidth,
    DH: info.dilationHeight,
    DW: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

function geometryArgs(g: ConvGeometry): ConvGeometryArgs {
  return [g.H, g.W, g.Ci, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.padTop, g.padLeft];
}

/** Rows of im2col per sub-chunk: about `MULTICHEXNET_COL_FLOATS` (default 32K) floats, a multiple of 4. */
function colRows(kdim: number): number {
  const floats = Number(
    (typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_COL_FLOATS'] : undefined) ?? 32768,
  );
  return Math.max(4, Math.floor(floats / kdim) & ~3);
}

/**
 * Convolution output [B, OH, OW, N] of x (NHWC, geometry g) with the packed filter matrix [KH*KW*Ci, N], + bias
 * (pointer to N floats, 0 for none), relu.
 */
export function convGemm(
  backend: WasmBackend,
  kernel: string,
  x: tf.TensorInfo,
  g: ConvGeometry,
  filter: PackedB,
  bias: number,
  relu: boolean,
): tf.TensorInfo {
  const N = filter.N;
  const out = backend.makeOutput([g.B, g.OH, g.OW, N], 'float32');
  const pixels = g.B * g.OH * g.OW;
  if (pixels * N === 0) return out;
  requireSimd(backend, kernel);
  const kdim = g.KH * g.KW * g.Ci;
  const parts = splitRange(pixels, simdThreads(backend), Math.max(4, Math.ceil(32768 / Math.max(1, kdim * N))));
  const rowsPerCol = colRows(kdim);
  const colFloats = rowsPerCol * kdim;
  const col = heapAlloc(backend, parts.length * colFloats * 4);
  try {
    const xp = ptrOf(backend, x);
    const yp = ptrOf(backend, out);
    runParts(backend, kernel, 'convGemmRows', parts, (n0, n1, i) => [
      xp,
      ...geometryArgs(g),
      n0,
      n1 - n0,
      col + i * colFloats * 4,
      rowsPerCol,
      filter.ptr,
      N,
      yp,
      bias,
      relu ? 1 : 0,
    ]);
  } finally {
    heapFree(backend, col);
  }
  return out;
}

/** The filter packed as the GEMM's B: [KH, KW, Ci, Co] is already the row-major (KH*KW*Ci) x Co matrix. */
export function packFilter(backend: WasmBackend, kernel: string, filter: tf.TensorInfo): PackedB {
  const [KH, KW, Ci, Co] = filter.shape as [number, number, number, number];
  return packB(backend, kernel, [{ ptr: ptrOf(backend, filter), si: Co * 4, sj: 4, rows: KH * KW * Ci }], Co);
}

/**
 * The filter of the input gradient, packed: row (t, co), column ci holds filter[T-1-t, ci, co] (taps reversed,
 * channels swapped), one segment per tap.
 */
export function packReversedFilter(backend: WasmBackend, kernel: string, filter: tf.TensorInfo): PackedB {
  const [KH, KW, Ci, Co] = filter.shape as [number, number, number, number];
  const T = KH * KW;
  const fp = ptrOf(backend, filter);
  const segments = Array.from({ length: T }, (_, t) => ({
    ptr: fp + (T - 1 - t) * Ci * Co * 4,
    si: 4,
    sj: Co * 4,
    rows: Co,
  }));
  return packB(backend, kernel, segments, Ci);
}

/** dW [KH, KW, Ci, Co] = im2col(x)^T . dy over all output pixels, split by pixels over the helper threads. */
export function convGemmFilter(
  backend: WasmBackend,
  kernel: string,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
  Co: number,
): tf.TensorInfo {
  const kdim = g.KH * g.KW * g.Ci;
  const dw = backend.makeOutput([g.KH, g.KW, g.Ci, Co], 'float32');
  const pixels = g.B * g.OH * g.OW;
  if (pixels === 0 || kdim * Co === 0) {
    heapF32(backend, ptrOf(backend, dw), kdim * Co).fill(0);
    return dw;
  }
  const simd = requireSimd(backend, kernel);
  const KC = 256;
  const parts = splitRange(pixels, simdThreads(backend), Math.max(KC, Math.ceil(65536 / Math.max(1, kdim))));
  const colFloats = KC * kdim;
  const packFloats = KC * Math.ceil(Co / 8) * 8;
  const partDw = kdim * Co;
  const perPart = colFloats + packFloats + partDw;
  const scratch = heapAlloc(backend, parts.length * perPart * 4);
  try {
    const xp = ptrOf(backend, x);
    const dyp = ptrOf(backend, dy);
    const dwp = ptrOf(backend, dw);
    const base = (i: number) => scratch + i * perPart * 4;
    const target = (i: number) => (i === 0 ? dwp : base(i) + (colFloats + packFloats) * 4);
    runParts(backend, kernel, 'convGemmFilterRows', parts, (n0, n1, i) => [
      xp,
      dyp,
      ...geometryArgs(g),
      Co,
      n0,
      n1 - n0,
      base(i),
      base(i) + colFloats * 4,
      target(i),
      0,
    ]);
    for (let i = 1; i < parts.length; i++) simd.addInto(dwp, target(i), partDw);
  } finally {
    heapFree(backend, scratch);
  }
  return dw;
}
