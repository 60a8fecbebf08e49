// Single-precision GEMM for the wasm training backend: C[M, N] (+)= A[M, K] . B[K, N], the core of convolutions
// (1x1 directly, k x k through im2col), their two gradients and tf.matMul.
//
// A is read in place through two byte strides (element (m, k) at a + m*sam + k*sak), so A and A^T cost the same.
// B is packed first into panels of 8 columns (gemmPackB), zero-padded past N. The micro-kernel keeps a 4 x 8 tile
// of C in 8 SIMD registers: V8 allocates at most 16 xmm registers, and wider tiles (5 x 8, 6 x 8) spill.
//
// RELAXED is a compile-time constant (asc --use RELAXED=0|1): 1 builds the variant with relaxed-SIMD fused
// multiply-add (f32x4.relaxed_madd), 0 the SIMD128 one (separate multiply and add) for engines without relaxed SIMD.

/** c + a * b (fused where the engine's relaxed SIMD fuses it). */
function madd(a: v128, b: v128, c: v128): v128 {
  if (RELAXED) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * Blocking: K in passes of KC, rows of C in blocks of MC. One 256 x 8 panel of B (8 KB) stays in L1 while the
 * 64 x 256 block of A (64 KB, L2) streams past it, 4 rows at a time.
 */
const KC: i32 = 256;
const MC: i32 = 64;

/**
 * Packs panels [j0, j1) of B (K x N, element (k, n) at b + k*sbk + n*sbn bytes) into bp: panel j holds rows
 * k0 .. k0+K of its 8 columns at bp + ((j*Kp + k0 + k) * 8) floats; columns past N are zeros.
 */
export function gemmPackB(b: usize, sbk: usize, sbn: usize, K: i32, N: i32, bp: usize, Kp: i32, k0: i32, j0: i32, j1: i32): void {
  for (let j = j0; j < j1; j++) {
    const n0 = j << 3;
    const cols = min(8, N - n0);
    let dst = bp + (<usize>(j * Kp + k0) << 5);
    let src = b + <usize>n0 * sbn;
    if (cols == 8 && sbn == 4) {
      for (let k: i32 = 0; k < K; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += sbk;
        dst += 32;
      }
      continue;
    }
    for (let k: i32 = 0; k < K; k++) {
      let s = src;
      for (let c: i32 = 0; c < 8; c++) {
        store<f32>(dst + (<usize>c << 2), c < cols ? load<f32>(s) : 0);
        s += sbn;
      }
      src += sbk;
      dst += 32;
    }
  }
}

/** The first n (0..4) floats at p, zeros after. */
function loadPart(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  if (n > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  if (n > 3) v = f32x4.replace_lane(v, 3, load<f32>(p, 12));
  return v;
}

/** Stores the first n (0..4) lanes of v at p. */
function storePart(p: usize, v: v128, n: i32): void {
  if (n > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  if (n > 3) store<f32>(p, f32x4.extract_lane(v, 3), 12);
}

function loadRow(p: usize, cols: i32, hi: bool): v128 {
  if (cols == 8) return hi ? v128.load(p, 16) : v128.load(p);
  return hi ? loadPart(p + 16, cols - 4) : loadPart(p, min(cols, 4));
}

function storeRow(p: usize, v: v128, cols: i32, hi: bool): void {
  if (cols == 8) {
    if (hi) v128.store(p, v, 16);
    else v128.store(p, v);
    return;
  }
  if (hi) storePart(p + 16, v, cols - 4);
  else storePart(p, v, min(cols, 4));
}

/** Bias add (bias != 0) and ReLU (relu != 0) of one 4-lane half of a C row. */
function epilogue(v: v128, bias: usize, cols: i32, hi: bool, relu: i32): v128 {
  let r = v;
  if (bias != 0) r = f32x4.add(r, loadRow(bias, cols, hi));
  if (relu) r = f32x4.max(r, f32x4.splat(0));
  return r;
}

/** A 4 x 8 tile of C: kc steps of rank-1 updates, C loaded first when loadC, written back with the epilogue. */
function micro4(a: usize, sam: usize, sak: usize, b: usize, kc: i32, c: usize, ldc: usize, cols: i32, loadC: i32, bias: usize, relu: i32): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  if (loadC) {
    c00 = loadRow(c, cols, false);
    c01 = loadRow(c, cols, true);
    c10 = loadRow(c + ldc, cols, false);
    c11 = loadRow(c + ldc, cols, true);
    c20 = loadRow(c + (ldc << 1), cols, false);
    c21 = loadRow(c + (ldc << 1), cols, true);
    c30 = loadRow(c + ldc * 3, cols, false);
    c31 = loadRow(c + ldc * 3, cols, true);
  }
  let pa = a;
  let pb = b;
  const a1 = sam;
  const a2 = sam << 1;
  const a3 = a1 + a2;
  for (let k: i32 = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(pa + a1);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(pa + a2);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(pa + a3);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    pa += sak;
    pb += 32;
  }
  if (bias != 0 || relu) {
    c00 = epilogue(c00, bias, cols, false, relu);
    c01 = epilogue(c01, bias, cols, true, relu);
    c10 = epilogue(c10, bias, cols, false, relu);
    c11 = epilogue(c11, bias, cols, true, relu);
    c20 = epilogue(c20, bias, cols, false, relu);
    c21 = epilogue(c21, bias, cols, true, relu);
    c30 = epilogue(c30, bias, cols, false, relu);
    c31 = epilogue(c31, bias, cols, true, relu);
  }
  storeRow(c, c00, cols, false);
  storeRow(c, c01, cols, true);
  storeRow(c + ldc, c10, cols, false);
  storeRow(c + ldc, c11, cols, true);
  storeRow(c + (ldc << 1), c20, cols, false);
  storeRow(c + (ldc << 1), c21, cols, true);
  storeRow(c + ldc * 3, c30, cols, false);
  storeRow(c + ldc * 3, c31, cols, true);
}

/** One row of C (the rows left over after the 4-row tiles). */
function micro1(a: usize, sak: usize, b: usize, kc: i32, c: usize, cols: i32, loadC: i32, bias: usize, relu: i32): void {
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  if (loadC) {
    c0 = loadRow(c, cols, false);
    c1 = loadRow(c, cols, true);
  }
  let pa = a;
  let pb = b;
  for (let k: i32 = 0; k < kc; k++) {
    const av = v128.load32_splat(pa);
    c0 = madd(av, v128.load(pb), c0);
    c1 = madd(av, v128.load(pb, 16), c1);
    pa += sak;
    pb += 32;
  }
  if (bias != 0 || relu) {
    c0 = epilogue(c0, bias, cols, false, relu);
    c1 = epilogue(c1, bias, cols, true, relu);
  }
  storeRow(c, c0, cols, false);
  storeRow(c, c1, cols, true);
}

/**
 * C[M, N] = A . B (+ C when accumulate != 0), then + bias[N] (bias != 0) and max(., 0) (relu != 0). A element
 * (m, k) at a + m*sam + k*sak bytes; B packed by gemmPackB with row capacity Kp; C row-major with ldc bytes per row.
 */
export function gemm(
  M: i32,
  N: i32,
  K: i32,
  a: usize,
  sam: usize,
  sak: usize,
  bp: usize,
  Kp: i32,
  c: usize,
  ldc: usize,
  accumulate: i32,
  bias: usize,
  relu: i32,
): void {
  const panels = (N + 7) >> 3;
  for (let k0: i32 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const loadC = k0 == 0 ? accumulate : 1;
    const last = k0 + kc >= K;
    const bb: usize = last ? bias : 0;
    const rr: i32 = last ? relu : 0;
    const ak = a + <usize>k0 * sak;
    for (let m0: i32 = 0; m0 < M; m0 += MC) {
      const m1 = min(M, m0 + MC);
      for (let j: i32 = 0; j < panels; j++) {
        const cols = min(8, N - (j << 3));
        const bj = bp + (<usize>(j * Kp + k0) << 5);
        const cj = c + (<usize>j << 5);
        const bias8: usize = bb != 0 ? bb + (<usize>j << 5) : 0;
        let m = m0;
        for (; m + 4 <= m1; m += 4) micro4(ak + <usize>m * sam, sam, sak, bj, kc, cj + <usize>m * ldc, ldc, cols, loadC, bias8, rr);
        for (; m < m1; m++) micro1(ak + <usize>m * sam, sak, bj, kc, cj + <usize>m * ldc, cols, loadC, bias8, rr);
      }
    }
  }
}

/**
 * im2col rows for output pixels n0 .. n0+count of a convolution of x [B, H, W, Ci] (NHWC): row r holds, tap by tap
 * ((kh, kw) row-major), the Ci channels of input pixel (oh*SH + kh*DH - padTop, ow*SW + kw*DW - padLeft), zeros
 * where that falls in the padding. out is count x (KH*KW*Ci) floats.
 */
export function im2col(
  x: usize,
  out: usize,
  H: i32,
  W: i32,
  Ci: i32,
  OH: i32,
  OW: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  DH: i32,
  DW: i32,
  padTop: i32,
  padLeft: i32,
  n0: i32,
  count: i32,
): void {
  const ciBytes = <usize>Ci << 2;
  const image = OH * OW;
  let dst = out;
  for (let r: i32 = 0; r < count; r++) {
    const n = n0 + r;
    const b = n / image;
    const rem = n - b * image;
    const oh = rem / OW;
    const ow = rem - oh * OW;
    for (let kh: i32 = 0; kh < KH; kh++) {
      const ih = oh * SH + kh * DH - padTop;
      const rowOk = ih >= 0 && ih < H;
      for (let kw: i32 = 0; kw < KW; kw++) {
        const iw = ow * SW + kw * DW - padLeft;
        if (rowOk && iw >= 0 && iw < W) memory.copy(dst, x + <usize>((b * H + ih) * W + iw) * ciBytes, ciBytes);
        else memory.fill(dst, 0, ciBytes);
        dst += ciBytes;
      }
    }
  }
}

/**
 * Output rows n0 .. n0+count of a convolution as GEMM: y[n, :] (+ bias, relu) = im2col(x)[n, :] . W, with W packed
 * (gemmPackB) as a (KH*KW*Ci) x N matrix. y is [pixels, N] row-major. A 1 x 1, stride-1, unpadded convolution
 * reads x in place; otherwise im2col fills `col` (colRows rows) chunk by chunk.
 */
export function convGemmRows(
  x: usize,
  H: i32,
  W: i32,
  Ci: i32,
  OH: i32,
  OW: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  DH: i32,
  DW: i32,
  padTop: i32,
  padLeft: i32,
  n0: i32,
  count: i32,
  col: usize,
  colRows: i32,
  bp: usize,
  N: i32,
  y: usize,
  bias: usize,
  relu: i32,
): void {
  const kdim = KH * KW * Ci;
  const ldc = <usize>N << 2;
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && padTop == 0 && padLeft == 0 && OH == H && OW == W) {
    gemm(count, N, Ci, x + (<usize>n0 * <usize>Ci << 2), <usize>Ci << 2, 4, bp, kdim, y + <usize>n0 * ldc, ldc, 0, bias, relu);
    return;
  }
  for (let r: i32 = 0; r < count; r += colRows) {
    const rows = min(colRows, count - r);
    im2col(x, col, H, W, Ci, OH, OW, KH, KW, SH, SW, DH, DW, padTop, padLeft, n0 + r, rows);
    gemm(rows, N, kdim, col, <usize>kdim << 2, 4, bp, kdim, y + <usize>(n0 + r) * ldc, ldc, 0, bias, relu);
  }
}

/**
 * The filter gradient of a convolution over output pixels n0 .. n0+count, added into dw [(KH*KW*Ci), Co] (or
 * written, accumulate == 0): dw += im2col(x)^T . dy. dy rows are packed into `pack` (KC rows x Co, 8-column panels)
 * and im2col rows into `col` (KC x KH*KW*Ci floats), 256 pixels at a time; a 1 x 1, stride-1, unpadded
 * convolution reads x in place.
 */
export function convGemmFilterRows(
  x: usize,
  dy: usize,
  H: i32,
  W: i32,
  Ci: i32,
  OH: i32,
  OW: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  DH: i32,
  DW: i32,
  padTop: i32,
  padLeft: i32,
  Co: i32,
  n0: i32,
  count: i32,
  col: usize,
  pack: usize,
  dw: usize,
  accumulate: i32,
): void {
  const kdim = KH * KW * Ci;
  const direct = KH == 1 && KW == 1 && SH == 1 && SW == 1 && padTop == 0 && padLeft == 0 && OH == H && OW == W;
  const panels = (Co + 7) >> 3;
  let acc = accumulate;
  for (let r: i32 = 0; r < count; r += KC) {
    const rows = min(KC, count - r);
    const n = n0 + r;
    gemmPackB(dy + (<usize>n * <usize>Co << 2), <usize>Co << 2, 4, rows, Co, pack, KC, 0, 0, panels);
    let a = x + (<usize>n * <usize>Ci << 2);
    if (!direct) {
      im2col(x, col, H, W, Ci, OH, OW, KH, KW, SH, SW, DH, DW, padTop, padLeft, n, rows);
      a = col;
    }
    gemm(kdim, Co, rows, a, 4, <usize>kdim << 2, pack, KC, dw, <usize>Co << 2, acc, 0, 0);
    acc = 1;
  }
}
