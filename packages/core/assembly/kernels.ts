// SIMD128 kernels for the wasm training backend of @multichexnet/core.
//
// Compiled by scripts/build-simd.mjs with `--importMemory --runtime stub --noAssert`: the module imports the
// tfjs-backend-wasm heap (env.memory) and works on tensors in place. Every pointer argument is a byte offset into
// that heap that the TypeScript side got from the backend's dataIdMap or from _malloc. The module itself owns no
// memory: no data segments, no allocation, only locals; the build script checks that the output has no data
// section, so it can never overwrite the backend's heap.
//
// Layout is NHWC throughout, flattened to rows x C (rows = B*H*W). Channel loops are vectorised 4 lanes wide with
// a scalar tail, so any C works; rows of 16 channels are one 64-byte cache line.

// Rows accumulated in f32 before flushing to the f64 totals: keeps the sums accurate for millions of rows.
const CHUNK: i32 = 256;

// ---------------------------------------------------------------------------------------------------------------
// BatchNorm

/**
 * Per-channel sums of (x - shift) and (x - shift)^2 over `rows`, added into f64 accumulators
 * out[0..C) and out[C..2C) (the caller zeroes them). shift[c] keeps the one-pass variance accurate.
 */
export function bnStats(x: usize, rows: i32, C: i32, shift: usize, out: usize): void {
  const rowBytes = <usize>C << 2;
  let c: i32 = 0;
  for (; c + 4 <= C; c += 4) {
    const k = v128.load(shift + (<usize>c << 2));
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s = f32x4.splat(0);
      let q = f32x4.splat(0);
      let p = x + <usize>r * rowBytes + (<usize>c << 2);
      for (; r < end; r++) {
        const d = f32x4.sub(v128.load(p), k);
        s = f32x4.add(s, d);
        q = f32x4.add(q, f32x4.mul(d, d));
        p += rowBytes;
      }
      const o = out + (<usize>c << 3);
      const oq = out + (<usize>(C + c) << 3);
      v128.store(o, f64x2.add(v128.load(o), f64x2.promote_low_f32x4(s)));
      v128.store(o + 16, f64x2.add(v128.load(o + 16), f64x2.promote_low_f32x4(i32x4.shuffle(s, s, 2, 3, 0, 1))));
      v128.store(oq, f64x2.add(v128.load(oq), f64x2.promote_low_f32x4(q)));
      v128.store(oq + 16, f64x2.add(v128.load(oq + 16), f64x2.promote_low_f32x4(i32x4.shuffle(q, q, 2, 3, 0, 1))));
    }
  }
  for (; c < C; c++) {
    const k = load<f32>(shift + (<usize>c << 2));
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s: f32 = 0;
      let q: f32 = 0;
      let p = x + <usize>r * rowBytes + (<usize>c << 2);
      for (; r < end; r++) {
        const d = load<f32>(p) - k;
        s += d;
        q += d * d;
        p += rowBytes;
      }
      const o = out + (<usize>c << 3);
      const oq = out + (<usize>(C + c) << 3);
      store<f64>(o, load<f64>(o) + <f64>s);
      store<f64>(oq, load<f64>(oq) + <f64>q);
    }
  }
}

/** y = x * scale[c] + offset[c], then max(., 0) when relu != 0. In place (y == x) is allowed. */
export function bnApply(x: usize, y: usize, rows: i32, C: i32, scale: usize, offset: usize, relu: i32): void {
  const zero = f32x4.splat(0);
  let px = x;
  let py = y;
  const C4 = C & ~3;
  for (let r: i32 = 0; r < rows; r++) {
    let c: i32 = 0;
    for (; c < C4; c += 4) {
      const off = <usize>c << 2;
      let v = f32x4.add(f32x4.mul(v128.load(px + off), v128.load(scale + off)), v128.load(offset + off));
      if (relu) v = f32x4.max(v, zero);
      v128.store(py + off, v);
    }
    for (; c < C; c++) {
      const off = <usize>c << 2;
      let v: f32 = load<f32>(px + off) * load<f32>(scale + off) + load<f32>(offset + off);
      if (relu && !(v > 0)) v = v != v ? v : 0;
      store<f32>(py + off, v);
    }
    px += <usize>C << 2;
    py += <usize>C << 2;
  }
}

/**
 * Backward reductions: per channel, sum(g) into out[0..C) and sum(g * (x - mean)) into out[C..2C) (f64, zeroed by
 * the caller), where g = dy, masked by (x * scale + offset > 0) when relu != 0 (the same float ops as bnApply, so
 * the mask is exactly the forward's).
 */
export function bnGradReduce(
  x: usize,
  dy: usize,
  rows: i32,
  C: i32,
  mean: usize,
  scale: usize,
  offset: usize,
  relu: i32,
  out: usize,
): void {
  const rowBytes = <usize>C << 2;
  const zero = f32x4.splat(0);
  let c: i32 = 0;
  for (; c + 4 <= C; c += 4) {
    const off = <usize>c << 2;
    const m = v128.load(mean + off);
    const sc = v128.load(scale + off);
    const sh = v128.load(offset + off);
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s = f32x4.splat(0);
      let q = f32x4.splat(0);
      let px = x + <usize>r * rowBytes + off;
      let pd = dy + <usize>r * rowBytes + off;
      for (; r < end; r++) {
        const xv = v128.load(px);
        let g = v128.load(pd);
        if (relu) g = v128.and(g, f32x4.gt(f32x4.add(f32x4.mul(xv, sc), sh), zero));
        s = f32x4.add(s, g);
        q = f32x4.add(q, f32x4.mul(g, f32x4.sub(xv, m)));
        px += rowBytes;
        pd += rowBytes;
      }
      const o = out + (<usize>c << 3);
      const oq = out + (<usize>(C + c) << 3);
      v128.store(o, f64x2.add(v128.load(o), f64x2.promote_low_f32x4(s)));
      v128.store(o + 16, f64x2.add(v128.load(o + 16), f64x2.promote_low_f32x4(i32x4.shuffle(s, s, 2, 3, 0, 1))));
      v128.store(oq, f64x2.add(v128.load(oq), f64x2.promote_low_f32x4(q)));
      v128.store(oq + 16, f64x2.add(v128.load(oq + 16), f64x2.promote_low_f32x4(i32x4.shuffle(q, q, 2, 3, 0, 1))));
    }
  }
  for (; c < C; c++) {
    const off = <usize>c << 2;
    const m = load<f32>(mean + off);
    const sc = load<f32>(scale + off);
    const sh = load<f32>(offset + off);
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s: f32 = 0;
      let q: f32 = 0;
      let px = x + <usize>r * rowBytes + off;
      let pd = dy + <usize>r * rowBytes + off;
      for (; r < end; r++) {
        const xv = load<f32>(px);
        let g = load<f32>(pd);
        if (relu && !(xv * sc + sh > 0)) g = 0;
        s += g;
        q += g * (xv - m);
        px += rowBytes;
        pd += rowBytes;
      }
      const o = out + (<usize>c << 3);
      const oq = out + (<usize>(C + c) << 3);
      store<f64>(o, load<f64>(o) + <f64>s);
      store<f64>(oq, load<f64>(oq) + <f64>q);
    }
  }
}

/** dx = a[c] * g + b[c] * (x - mean[c]) + k[c], with g the (relu-masked) dy as in bnGradReduce. */
export function bnGradApply(
  x: usize,
  dy: usize,
  dx: usize,
  rows: i32,
  C: i32,
  scale: usize,
  offset: usize,
  relu: i32,
  mean: usize,
  a: usize,
  b: usize,
  k: usize,
): void {
  const zero = f32x4.splat(0);
  const C4 = C & ~3;
  let px = x;
  let pd = dy;
  let po = dx;
  for (let r: i32 = 0; r < rows; r++) {
    let c: i32 = 0;
    for (; c < C4; c += 4) {
      const off = <usize>c << 2;
      const xv = v128.load(px + off);
      let g = v128.load(pd + off);
      if (relu) {
        g = v128.and(g, f32x4.gt(f32x4.add(f32x4.mul(xv, v128.load(scale + off)), v128.load(offset + off)), zero));
      }
      const v = f32x4.add(
        f32x4.add(f32x4.mul(v128.load(a + off), g), f32x4.mul(v128.load(b + off), f32x4.sub(xv, v128.load(mean + off)))),
        v128.load(k + off),
      );
      v128.store(po + off, v);
    }
    for (; c < C; c++) {
      const off = <usize>c << 2;
      const xv = load<f32>(px + off);
      let g = load<f32>(pd + off);
      if (relu && !(xv * load<f32>(scale + off) + load<f32>(offset + off) > 0)) g = 0;
      store<f32>(po + off, load<f32>(a + off) * g + load<f32>(b + off) * (xv - load<f32>(mean + off)) + load<f32>(k + off));
    }
    px += <usize>C << 2;
    pd += <usize>C << 2;
    po += <usize>C << 2;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// MaxPool gradient: the gradient of each window goes to its first maximum (strict >, scanning rows then columns),
// as TensorFlow does; the running maximum starts at the window's first element, so all-negative windows are right.

/** 2x2 windows, stride 2, no padding: the windows tile the input, so dx is written once per element. */
export function maxPoolGrad2x2(x: usize, dy: usize, dx: usize, B: i32, H: i32, W: i32, C: i32): void {
  const OH = H >> 1;
  const OW = W >> 1;
  const rowBytes = <usize>W * <usize>C << 2;
  const pixBytes = <usize>C << 2;
  const C4 = C & ~3;
  // Rows/columns the windows do not cover (odd H or W) get no gradient.
  memory.fill(dx, 0, <usize>B * <usize>H * rowBytes);
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      const rowBase = <usize>(b * H + oh * 2) * rowBytes;
      const dyRow = dy + <usize>(b * OH + oh) * <usize>OW * pixBytes;
      for (let ow: i32 = 0; ow < OW; ow++) {
        const p0 = rowBase + <usize>(ow * 2) * pixBytes;
        const p1 = p0 + pixBytes;
        const p2 = p0 + rowBytes;
        const p3 = p2 + pixBytes;
        const pg = dyRow + <usize>ow * pixBytes;
        let c: i32 = 0;
        for (; c < C4; c += 4) {
          const off = <usize>c << 2;
          const a0 = v128.load(x + p0 + off);
          const a1 = v128.load(x + p1 + off);
          const a2 = v128.load(x + p2 + off);
          const a3 = v128.load(x + p3 + off);
          const g = v128.load(pg + off);
          // Winner masks: w1 = a1 beats the running max of a0, and so on; a later strict win cancels earlier ones.
          let m = a0;
          const w1 = f32x4.gt(a1, m);
          m = v128.bitselect(a1, m, w1);
          const w2 = f32x4.gt(a2, m);
          m = v128.bitselect(a2, m, w2);
          const w3 = f32x4.gt(a3, m);
          const s3 = w3;
          const s2 = v128.andnot(w2, w3);
          const s1 = v128.andnot(v128.andnot(w1, w2), w3);
          const s0 = v128.not(v128.or(v128.or(w1, w2), w3));
          v128.store(dx + p0 + off, v128.and(g, s0));
          v128.store(dx + p1 + off, v128.and(g, s1));
          v128.store(dx + p2 + off, v128.and(g, s2));
          v128.store(dx + p3 + off, v128.and(g, s3));
        }
        for (; c < C; c++) {
          const off = <usize>c << 2;
          let best = load<f32>(x + p0 + off);
          let at = p0;
          let v = load<f32>(x + p1 + off);
          if (v > best) { best = v; at = p1; }
          v = load<f32>(x + p2 + off);
          if (v > best) { best = v; at = p2; }
          v = load<f32>(x + p3 + off);
          if (v > best) { best = v; at = p3; }
          store<f32>(dx + at + off, load<f32>(pg + off));
        }
      }
    }
  }
}

/**
 * Any window size, stride and padding (dilation 1): dx is zeroed, then each window adds its dy to the position of
 * its first maximum (windows may overlap, hence +=). Scalar: it is the rare case.
 */
export function maxPoolGradGeneric(
  x: usize,
  dy: usize,
  dx: usize,
  B: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  padTop: i32,
  padLeft: i32,
): void {
  memory.fill(dx, 0, <usize>B * <usize>H * <usize>W * <usize>C << 2);
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      const h0 = oh * SH - padTop;
      const hs = max(h0, 0);
      const he = min(h0 + KH, H);
      for (let ow: i32 = 0; ow < OW; ow++) {
        const w0 = ow * SW - padLeft;
        const ws = max(w0, 0);
        const we = min(w0 + KW, W);
        const g0 = dy + (<usize>((b * OH + oh) * OW + ow) * <usize>C << 2);
        for (let c: i32 = 0; c < C; c++) {
          let at: i32 = -1;
          let best: f32 = 0;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) {
              const idx = ((b * H + h) * W + w) * C + c;
              const v = load<f32>(x + (<usize>idx << 2));
              if (at < 0 || v > best) {
                best = v;
                at = idx;
              }
            }
          }
          if (at >= 0) {
            const p = dx + (<usize>at << 2);
            store<f32>(p, load<f32>(p) + load<f32>(g0 + (<usize>c << 2)));
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers of the convolution backprops

/**
 * Zero-insertion ("dilation") of dy [B, OH, OW, C] into dst [B, DH, DW, C]: dst[b, oh*SH, ow*SW, c] = dy[b, oh, ow, c],
 * zero elsewhere. Turns a strided backprop-input into a stride-1 convolution.
 */
export function zeroInsert(src: usize, dst: usize, B: i32, OH: i32, OW: i32, C: i32, SH: i32, SW: i32, DH: i32, DW: i32): void {
  const pix = <usize>C << 2;
  memory.fill(dst, 0, <usize>B * <usize>DH * <usize>DW * pix);
  let ps = src;
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      let pd = dst + <usize>((b * DH + oh * SH) * DW) * pix;
      for (let ow: i32 = 0; ow < OW; ow++) {
        memory.copy(pd, ps, pix);
        ps += pix;
        pd += <usize>SW * pix;
      }
    }
  }
}

/**
 * Window copy: dst[n, h, w, c] = src[n, h + top, w + left, c] for h < DH, w < DW, with src [N, SH, SW, C].
 * Crops a convolution output computed on a larger grid.
 */
export function crop(src: usize, dst: usize, N: i32, SH: i32, SW: i32, C: i32, top: i32, left: i32, DH: i32, DW: i32): void {
  const pix = <usize>C << 2;
  for (let n: i32 = 0; n < N; n++) {
    for (let h: i32 = 0; h < DH; h++) {
      memory.copy(
        dst + <usize>((n * DH + h) * DW) * pix,
        src + <usize>((n * SH + h + top) * SW + left) * pix,
        <usize>DW * pix,
      );
    }
  }
}
