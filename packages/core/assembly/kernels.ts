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

/** Adds the four f32 lanes of s into the f64 accumulators at o[0..4) (small: the optimizer inlines it). */
function flush4(o: usize, s: v128): void {
  v128.store(o, f64x2.add(v128.load(o), f64x2.promote_low_f32x4(s)));
  v128.store(o + 16, f64x2.add(v128.load(o + 16), f64x2.promote_low_f32x4(i32x4.shuffle(s, s, 2, 3, 0, 1))));
}

/**
 * Per-channel sums of (x - shift) and (x - shift)^2 over `rows`, added into f64 accumulators
 * out[0..C) and out[C..2C) (the caller zeroes them). shift[c] keeps the one-pass variance accurate.
 * Channels go 16 at a time (one 64-byte cache line per row), so each line of x is fetched once.
 */
export function bnStats(x: usize, rows: i32, C: i32, shift: usize, out: usize): void {
  const rowBytes = <usize>C << 2;
  let c: i32 = 0;
  for (; c + 16 <= C; c += 16) {
    const off = <usize>c << 2;
    const k0 = v128.load(shift + off);
    const k1 = v128.load(shift + off, 16);
    const k2 = v128.load(shift + off, 32);
    const k3 = v128.load(shift + off, 48);
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0);
      let s3 = f32x4.splat(0);
      let q0 = f32x4.splat(0);
      let q1 = f32x4.splat(0);
      let q2 = f32x4.splat(0);
      let q3 = f32x4.splat(0);
      let p = x + <usize>r * rowBytes + off;
      for (; r < end; r++) {
        const d0 = f32x4.sub(v128.load(p), k0);
        const d1 = f32x4.sub(v128.load(p, 16), k1);
        const d2 = f32x4.sub(v128.load(p, 32), k2);
        const d3 = f32x4.sub(v128.load(p, 48), k3);
        s0 = f32x4.add(s0, d0);
        s1 = f32x4.add(s1, d1);
        s2 = f32x4.add(s2, d2);
        s3 = f32x4.add(s3, d3);
        q0 = f32x4.add(q0, f32x4.mul(d0, d0));
        q1 = f32x4.add(q1, f32x4.mul(d1, d1));
        q2 = f32x4.add(q2, f32x4.mul(d2, d2));
        q3 = f32x4.add(q3, f32x4.mul(d3, d3));
        p += rowBytes;
      }
      const o = out + (<usize>c << 3);
      const oq = out + (<usize>(C + c) << 3);
      flush4(o, s0);
      flush4(o + 32, s1);
      flush4(o + 64, s2);
      flush4(o + 96, s3);
      flush4(oq, q0);
      flush4(oq + 32, q1);
      flush4(oq + 64, q2);
      flush4(oq + 96, q3);
    }
  }
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
      flush4(out + (<usize>c << 3), s);
      flush4(out + (<usize>(C + c) << 3), q);
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
 * the mask is exactly the forward's). Eight channels per pass (16 accumulators would spill).
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
  for (; c + 8 <= C; c += 8) {
    const off = <usize>c << 2;
    const m0 = v128.load(mean + off);
    const m1 = v128.load(mean + off, 16);
    const sc0 = v128.load(scale + off);
    const sc1 = v128.load(scale + off, 16);
    const sh0 = v128.load(offset + off);
    const sh1 = v128.load(offset + off, 16);
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let q0 = f32x4.splat(0);
      let q1 = f32x4.splat(0);
      let px = x + <usize>r * rowBytes + off;
      let pd = dy + <usize>r * rowBytes + off;
      for (; r < end; r++) {
        const x0 = v128.load(px);
        const x1 = v128.load(px, 16);
        let g0 = v128.load(pd);
        let g1 = v128.load(pd, 16);
        if (relu) {
          g0 = v128.and(g0, f32x4.gt(f32x4.add(f32x4.mul(x0, sc0), sh0), zero));
          g1 = v128.and(g1, f32x4.gt(f32x4.add(f32x4.mul(x1, sc1), sh1), zero));
        }
        s0 = f32x4.add(s0, g0);
        s1 = f32x4.add(s1, g1);
        q0 = f32x4.add(q0, f32x4.mul(g0, f32x4.sub(x0, m0)));
        q1 = f32x4.add(q1, f32x4.mul(g1, f32x4.sub(x1, m1)));
        px += rowBytes;
        pd += rowBytes;
      }
      const o = out + (<usize>c << 3);
      const oq = out + (<usize>(C + c) << 3);
      flush4(o, s0);
      flush4(o + 32, s1);
      flush4(oq, q0);
      flush4(oq + 32, q1);
    }
  }
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
      flush4(out + (<usize>c << 3), s);
      flush4(out + (<usize>(C + c) << 3), q);
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
 * its first maximum (windows may overlap, hence +=). Four channels at a time: the running maximum and the winning
 * tap are kept per lane, then the window's taps are walked again to add dy where the lane's winner is that tap.
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
  const C4 = C & ~3;
  const pix = <usize>C << 2;
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      const h0 = oh * SH - padTop;
      const hs = max(h0, 0);
      const he = min(h0 + KH, H);
      for (let ow: i32 = 0; ow < OW; ow++) {
        const w0 = ow * SW - padLeft;
        const ws = max(w0, 0);
        const we = min(w0 + KW, W);
        if (hs >= he || ws >= we) continue; // a window entirely in the padding
        const g0 = dy + <usize>((b * OH + oh) * OW + ow) * pix;
        const first = <usize>((b * H + hs) * W + ws) * pix;
        let c: i32 = 0;
        for (; c < C4; c += 4) {
          const off = <usize>c << 2;
          let m = v128.load(x + first + off);
          let at = i32x4.splat(0);
          let t: i32 = 0;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) {
              if (t > 0) {
                const v = v128.load(x + <usize>((b * H + h) * W + w) * pix + off);
                const gt = f32x4.gt(v, m);
                m = v128.bitselect(v, m, gt);
                at = v128.bitselect(i32x4.splat(t), at, gt);
              }
              t++;
            }
          }
          const g = v128.load(g0 + off);
          t = 0;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) {
              const p = dx + <usize>((b * H + h) * W + w) * pix + off;
              v128.store(p, f32x4.add(v128.load(p), v128.and(g, i32x4.eq(at, i32x4.splat(t)))));
              t++;
            }
          }
        }
        for (; c < C; c++) {
          const off = <usize>c << 2;
          let best = load<f32>(x + first + off);
          let bestAt = first;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) {
              const q = <usize>((b * H + h) * W + w) * pix;
              const v = load<f32>(x + q + off);
              if (v > best) {
                best = v;
                bestAt = q;
              }
            }
          }
          const p = dx + bestAt + off;
          store<f32>(p, load<f32>(p) + load<f32>(g0 + off));
        }
      }
    }
  }
}

/**
 * AvgPool gradient with tfjs's semantics (every window divides by KH*KW, padding included): dx is zeroed, then
 * each window adds dy * scale to each of its taps inside the image. Four channels at a time.
 */
export function avgPoolGrad(
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
  scale: f32,
): void {
  memory.fill(dx, 0, <usize>B * <usize>H * <usize>W * <usize>C << 2);
  const C4 = C & ~3;
  const pix = <usize>C << 2;
  const k = f32x4.splat(scale);
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      const h0 = oh * SH - padTop;
      const hs = max(h0, 0);
      const he = min(h0 + KH, H);
      for (let ow: i32 = 0; ow < OW; ow++) {
        const w0 = ow * SW - padLeft;
        const ws = max(w0, 0);
        const we = min(w0 + KW, W);
        const g0 = dy + <usize>((b * OH + oh) * OW + ow) * pix;
        for (let h = hs; h < he; h++) {
          for (let w = ws; w < we; w++) {
            const q = dx + <usize>((b * H + h) * W + w) * pix;
            let c: i32 = 0;
            for (; c < C4; c += 4) {
              const off = <usize>c << 2;
              v128.store(q + off, f32x4.add(v128.load(q + off), f32x4.mul(v128.load(g0 + off), k)));
            }
            for (; c < C; c++) {
              const off = <usize>c << 2;
              store<f32>(q + off, load<f32>(q + off) + load<f32>(g0 + off) * scale);
            }
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

// ---------------------------------------------------------------------------------------------------------------
// Single-input-channel convolution (the first layer of a grey-scale X-ray net). XNNPACK runs it as a GEMM whose
// inner dimension is only KH*KW, at a few GFLOP/s; these direct kernels broadcast each pixel over the output
// channels instead. Rows of x are first copied into a zero-padded scratch row, so the tap loops have no bounds
// checks.

/** Copies x row `ih` of image b into pad (padLeft zeros, W values, zeros up to padLen). */
function padRow(x: usize, b: i32, ih: i32, H: i32, W: i32, padLeft: i32, padLen: i32, pad: usize): void {
  memory.fill(pad, 0, <usize>padLen << 2);
  memory.copy(pad + (<usize>padLeft << 2), x + (<usize>(b * H + ih) * <usize>W << 2), <usize>W << 2);
}

/**
 * y[b, oh, ow, co] = bias[co] + sum over kh, kw of x[b, oh*SH + kh - padTop, ow*SW + kw - padLeft] * w[kh, kw, 0, co]
 * (then max(., 0) when relu != 0), for Co a multiple of 4. bias points at Co floats (zeros for "no bias").
 * scratch: KH * padLen floats, padLen >= max(padLeft + W, (OW - 1) * SW + KW).
 */
export function conv1ch(
  x: usize,
  w: usize,
  bias: usize,
  y: usize,
  B: i32,
  H: i32,
  W: i32,
  OH: i32,
  OW: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  padTop: i32,
  padLeft: i32,
  Co: i32,
  relu: i32,
  scratch: usize,
  padLen: i32,
): void {
  const coBytes = <usize>Co << 2;
  const C16 = Co & ~15;
  const rowStride = <usize>padLen << 2;
  const swBytes = <usize>SW << 2;
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      // The KH padded input rows this output row reads; rows outside the image stay all zeros.
      for (let kh: i32 = 0; kh < KH; kh++) {
        const ih = oh * SH + kh - padTop;
        const row = scratch + <usize>kh * rowStride;
        if (ih >= 0 && ih < H) padRow(x, b, ih, H, W, padLeft, padLen, row);
        else memory.fill(row, 0, rowStride);
      }
      const yRow = y + <usize>((b * OH + oh) * OW) * coBytes;
      // 3x3 with 16-channel blocks: the common first layer, taps unrolled.
      if (KH == 3 && KW == 3) {
        for (let cb: i32 = 0; cb < C16; cb += 16) {
          const cOff = <usize>cb << 2;
          conv1chRow3x3(scratch, rowStride, swBytes, w + cOff, coBytes, bias + cOff, yRow + cOff, OW, relu);
        }
      }
      // Blocks of 16 channels: four accumulators per output pixel, the taps streaming from the padded rows.
      for (let cb: i32 = KH == 3 && KW == 3 ? C16 : 0; cb < C16; cb += 16) {
        const cOff = <usize>cb << 2;
        let py = yRow + cOff;
        let px = scratch;
        for (let ow: i32 = 0; ow < OW; ow++) {
          let a0 = v128.load(bias + cOff);
          let a1 = v128.load(bias + cOff, 16);
          let a2 = v128.load(bias + cOff, 32);
          let a3 = v128.load(bias + cOff, 48);
          let pw = w + cOff;
          let prow = px;
          for (let kh: i32 = 0; kh < KH; kh++) {
            for (let kw: i32 = 0; kw < KW; kw++) {
              const xv = f32x4.splat(load<f32>(prow + (<usize>kw << 2)));
              a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(pw)));
              a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(pw, 16)));
              a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(pw, 32)));
              a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(pw, 48)));
              pw += coBytes;
            }
            prow += rowStride;
          }
          if (relu) {
            const z = f32x4.splat(0);
            a0 = f32x4.max(a0, z);
            a1 = f32x4.max(a1, z);
            a2 = f32x4.max(a2, z);
            a3 = f32x4.max(a3, z);
          }
          v128.store(py, a0);
          v128.store(py, a1, 16);
          v128.store(py, a2, 32);
          v128.store(py, a3, 48);
          py += coBytes;
          px += swBytes;
        }
      }
      // Remaining channels, 4 at a time.
      for (let cb: i32 = C16; cb < Co; cb += 4) {
        const cOff = <usize>cb << 2;
        let py = yRow + cOff;
        let px = scratch;
        for (let ow: i32 = 0; ow < OW; ow++) {
          let a0 = v128.load(bias + cOff);
          let pw = w + cOff;
          let prow = px;
          for (let kh: i32 = 0; kh < KH; kh++) {
            for (let kw: i32 = 0; kw < KW; kw++) {
              a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(prow + (<usize>kw << 2))), v128.load(pw)));
              pw += coBytes;
            }
            prow += rowStride;
          }
          if (relu) a0 = f32x4.max(a0, f32x4.splat(0));
          v128.store(py, a0);
          py += coBytes;
          px += swBytes;
        }
      }
    }
  }
}

/** One output row of a 3x3 single-channel convolution for one 16-channel block (see conv1ch). */
function conv1chRow3x3(rows: usize, rowStride: usize, swBytes: usize, w: usize, coBytes: usize, bias: usize, y: usize, OW: i32, relu: i32): void {
  const r1 = rowStride;
  const r2 = rowStride << 1;
  const w1 = coBytes;
  const w2 = coBytes << 1;
  const w3 = w2 + coBytes;
  const w4 = coBytes << 2;
  const w5 = w4 + coBytes;
  const w6 = w3 << 1;
  const w7 = w6 + coBytes;
  const w8 = coBytes << 3;
  const zero = f32x4.splat(0);
  let px = rows;
  let py = y;
  for (let ow: i32 = 0; ow < OW; ow++) {
    let a0 = v128.load(bias);
    let a1 = v128.load(bias, 16);
    let a2 = v128.load(bias, 32);
    let a3 = v128.load(bias, 48);
    // Tap (kh, kw) reads padded row kh at column ow*SW + kw and weight row kh*3 + kw.
    let xv = f32x4.splat(load<f32>(px));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w, 48)));
    xv = f32x4.splat(load<f32>(px, 4));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w1)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w1, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w1, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w1, 48)));
    xv = f32x4.splat(load<f32>(px, 8));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w2)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w2, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w2, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w2, 48)));
    xv = f32x4.splat(load<f32>(px + r1));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w3)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w3, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w3, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w3, 48)));
    xv = f32x4.splat(load<f32>(px + r1, 4));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w4)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w4, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w4, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w4, 48)));
    xv = f32x4.splat(load<f32>(px + r1, 8));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w5)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w5, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w5, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w5, 48)));
    xv = f32x4.splat(load<f32>(px + r2));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w6)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w6, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w6, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w6, 48)));
    xv = f32x4.splat(load<f32>(px + r2, 4));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w7)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w7, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w7, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w7, 48)));
    xv = f32x4.splat(load<f32>(px + r2, 8));
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w + w8)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w + w8, 16)));
    a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w + w8, 32)));
    a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w + w8, 48)));
    if (relu) {
      a0 = f32x4.max(a0, zero);
      a1 = f32x4.max(a1, zero);
      a2 = f32x4.max(a2, zero);
      a3 = f32x4.max(a3, zero);
    }
    v128.store(py, a0);
    v128.store(py, a1, 16);
    v128.store(py, a2, 32);
    v128.store(py, a3, 48);
    py += coBytes;
    px += swBytes;
  }
}

/**
 * dW[kh, kw, 0, co] = sum over b, oh, ow of x[b, oh*SH + kh - padTop, ow*SW + kw - padLeft] * dy[b, oh, ow, co], for
 * Co a multiple of 4. dw (KH*KW*Co floats) is overwritten. scratch: padLen floats, padLen >= (OW-1)*SW + 3*ceil(KW/3).
 * Per output row, each (kh, 3 taps, 8 channels) pass keeps 6 accumulators in registers over the row.
 */
export function conv1chBackpropFilter(
  x: usize,
  dy: usize,
  dw: usize,
  B: i32,
  H: i32,
  W: i32,
  OH: i32,
  OW: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  padTop: i32,
  padLeft: i32,
  Co: i32,
  scratch: usize,
  padLen: i32,
): void {
  const coBytes = <usize>Co << 2;
  memory.fill(dw, 0, <usize>(KH * KW) * coBytes);
  const swBytes = <usize>SW << 2;
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      const dyRow = dy + <usize>((b * OH + oh) * OW) * coBytes;
      for (let kh: i32 = 0; kh < KH; kh++) {
        const ih = oh * SH + kh - padTop;
        if (ih < 0 || ih >= H) continue;
        padRow(x, b, ih, H, W, padLeft, padLen, scratch);
        for (let kw0: i32 = 0; kw0 < KW; kw0 += 3) {
          for (let cb: i32 = 0; cb < Co; cb += 8) {
            const two = Co - cb >= 8;
            const cOff = <usize>cb << 2;
            let s00 = f32x4.splat(0);
            let s01 = f32x4.splat(0);
            let s10 = f32x4.splat(0);
            let s11 = f32x4.splat(0);
            let s20 = f32x4.splat(0);
            let s21 = f32x4.splat(0);
            let px = scratch + (<usize>kw0 << 2);
            let pd = dyRow + cOff;
            for (let ow: i32 = 0; ow < OW; ow++) {
              const d0 = v128.load(pd);
              const d1 = two ? v128.load(pd + 16) : f32x4.splat(0);
              const x0 = f32x4.splat(load<f32>(px));
              const x1 = f32x4.splat(load<f32>(px, 4));
              const x2 = f32x4.splat(load<f32>(px, 8));
              s00 = f32x4.add(s00, f32x4.mul(x0, d0));
              s01 = f32x4.add(s01, f32x4.mul(x0, d1));
              s10 = f32x4.add(s10, f32x4.mul(x1, d0));
              s11 = f32x4.add(s11, f32x4.mul(x1, d1));
              s20 = f32x4.add(s20, f32x4.mul(x2, d0));
              s21 = f32x4.add(s21, f32x4.mul(x2, d1));
              px += swBytes;
              pd += coBytes;
            }
            let o = dw + <usize>(kh * KW + kw0) * coBytes + cOff;
            v128.store(o, f32x4.add(v128.load(o), s00));
            if (two) v128.store(o + 16, f32x4.add(v128.load(o + 16), s01));
            if (kw0 + 1 < KW) {
              o += coBytes;
              v128.store(o, f32x4.add(v128.load(o), s10));
              if (two) v128.store(o + 16, f32x4.add(v128.load(o + 16), s11));
            }
            if (kw0 + 2 < KW) {
              o += coBytes;
              v128.store(o, f32x4.add(v128.load(o), s20));
              if (two) v128.store(o + 16, f32x4.add(v128.load(o + 16), s21));
            }
          }
        }
      }
    }
  }
}

/**
 * dx[b, ih, iw, 0] = sum over (oh, ow, kh, kw) with ih = oh*SH + kh - padTop, iw = ow*SW + kw - padLeft of
 * dy[b, oh, ow, :] . w[kh, kw, 0, :], for Co a multiple of 4. Each dy pixel scatters its KH*KW dot products into
 * a zero-padded copy of the dx rows it touches (scratch: KH rows of padLen floats, kept as a ring over oh), so
 * the tap loop has no bounds checks.
 */
export function conv1chBackpropInput(
  dy: usize,
  w: usize,
  dx: usize,
  B: i32,
  H: i32,
  W: i32,
  OH: i32,
  OW: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  padTop: i32,
  padLeft: i32,
  Co: i32,
  scratch: usize,
  padLen: i32,
): void {
  const coBytes = <usize>Co << 2;
  const C16 = Co & ~15;
  memory.fill(dx, 0, <usize>B * <usize>H * <usize>W << 2);
  // Padded dx rows: padded row r (0-based, r = ih + padTop) lives in the scratch slot r % KH... the rows an output
  // row touches are oh*SH .. oh*SH + KH - 1, so with SH <= KH a ring of KH + SH slots is enough; use KH + SH rows.
  const slots = KH + SH;
  for (let b: i32 = 0; b < B; b++) {
    memory.fill(scratch, 0, <usize>(slots * padLen) << 2);
    let flushed: i32 = 0; // padded rows below this index were added to dx and cleared
    for (let oh: i32 = 0; oh < OH; oh++) {
      const r0 = oh * SH;
      // Flush padded rows no later output row touches (those < r0).
      for (; flushed < r0; flushed++) {
        const slot = scratch + (<usize>((flushed % slots) * padLen) << 2);
        const ih = flushed - padTop;
        if (ih >= 0 && ih < H) {
          const out = dx + (<usize>((b * H + ih) * W) << 2);
          for (let iw: i32 = 0; iw < W; iw++) {
            const p = out + (<usize>iw << 2);
            store<f32>(p, load<f32>(p) + load<f32>(slot + (<usize>(iw + padLeft) << 2)));
          }
        }
        memory.fill(slot, 0, <usize>padLen << 2);
      }
      let pd = dy + <usize>((b * OH + oh) * OW) * coBytes;
      for (let ow: i32 = 0; ow < OW; ow++) {
        const c0 = ow * SW;
        let pw = w;
        for (let kh: i32 = 0; kh < KH; kh++) {
          const row = scratch + (<usize>(((r0 + kh) % slots) * padLen + c0) << 2);
          for (let kw: i32 = 0; kw < KW; kw++) {
            let acc = f32x4.splat(0);
            let c: i32 = 0;
            for (; c < C16; c += 16) {
              const off = <usize>c << 2;
              acc = f32x4.add(acc, f32x4.mul(v128.load(pd + off), v128.load(pw + off)));
              acc = f32x4.add(acc, f32x4.mul(v128.load(pd + off, 16), v128.load(pw + off, 16)));
              acc = f32x4.add(acc, f32x4.mul(v128.load(pd + off, 32), v128.load(pw + off, 32)));
              acc = f32x4.add(acc, f32x4.mul(v128.load(pd + off, 48), v128.load(pw + off, 48)));
            }
            for (; c < Co; c += 4) {
              const off = <usize>c << 2;
              acc = f32x4.add(acc, f32x4.mul(v128.load(pd + off), v128.load(pw + off)));
            }
            const s =
              f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
            const p = row + (<usize>kw << 2);
            store<f32>(p, load<f32>(p) + s);
            pw += coBytes;
          }
        }
        pd += coBytes;
      }
    }
    // Flush the remaining padded rows of this image.
    const lastRow = (OH - 1) * SH + KH;
    for (; flushed < lastRow; flushed++) {
      const slot = scratch + (<usize>((flushed % slots) * padLen) << 2);
      const ih = flushed - padTop;
      if (ih >= 0 && ih < H) {
        const out = dx + (<usize>((b * H + ih) * W) << 2);
        for (let iw: i32 = 0; iw < W; iw++) {
          const p = out + (<usize>iw << 2);
          store<f32>(p, load<f32>(p) + load<f32>(slot + (<usize>(iw + padLeft) << 2)));
        }
      }
      memory.fill(slot, 0, <usize>padLen << 2);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// im2col, transposed, for the backprop-filter GEMM: dW[(kh, kw, ci), co] = P^T[(kh, kw, ci), n] . dy[n, co]

/**
 * Writes P^T for output pixels n in [n0, n0 + count) (n enumerates b, oh, ow) into out, rows of rowLen floats:
 * out[(kh*KW + kw)*Ci + ci, n - n0] = x[b, oh*SH + kh - padTop, ow*SW + kw - padLeft, ci], 0 outside the image.
 * Groups of 4 pixels x 4 channels move as one 4x4 SIMD transpose.
 */
export function im2colT(
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
  padTop: i32,
  padLeft: i32,
  n0: i32,
  count: i32,
  rowLen: i32,
): void {
  const rowBytes = <usize>rowLen << 2;
  const Ci4 = Ci & ~3;
  const ciBytes = <usize>Ci << 2;
  const pixStride = <usize>SW * ciBytes;
  for (let kh: i32 = 0; kh < KH; kh++) {
    for (let kw: i32 = 0; kw < KW; kw++) {
      const tapRow = out + <usize>((kh * KW + kw) * Ci) * rowBytes;
      let j: i32 = 0;
      while (j < count) {
        const n = n0 + j;
        const ow = n % OW;
        const t = n / OW;
        const oh = t % OH;
        const b = t / OH;
        const ih = oh * SH + kh - padTop;
        const iw = ow * SW + kw - padLeft;
        const dst = tapRow + (<usize>j << 2);
        // Four pixels in this output row, all inside the image: vector path.
        if (
          j + 4 <= count &&
          ow + 4 <= OW &&
          ih >= 0 &&
          ih < H &&
          iw >= 0 &&
          iw + 3 * SW < W
        ) {
          const src = x + <usize>((b * H + ih) * W + iw) * ciBytes;
          let c: i32 = 0;
          for (; c < Ci4; c += 4) {
            const p = src + (<usize>c << 2);
            const r0 = v128.load(p);
            const r1 = v128.load(p + pixStride);
            const r2 = v128.load(p + 2 * pixStride);
            const r3 = v128.load(p + 3 * pixStride);
            const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
            const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
            const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
            const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
            const d = dst + <usize>c * rowBytes;
            v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
            v128.store(d + rowBytes, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
            v128.store(d + 2 * rowBytes, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
            v128.store(d + 3 * rowBytes, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
          }
          for (; c < Ci; c++) {
            const p = src + (<usize>c << 2);
            const d = dst + <usize>c * rowBytes;
            store<f32>(d, load<f32>(p));
            store<f32>(d, load<f32>(p + pixStride), 4);
            store<f32>(d, load<f32>(p + 2 * pixStride), 8);
            store<f32>(d, load<f32>(p + 3 * pixStride), 12);
          }
          j += 4;
        } else {
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
            const src = x + <usize>((b * H + ih) * W + iw) * ciBytes;
            for (let c: i32 = 0; c < Ci; c++) store<f32>(dst + <usize>c * rowBytes, load<f32>(src + (<usize>c << 2)));
          } else {
            for (let c: i32 = 0; c < Ci; c++) store<f32>(dst + <usize>c * rowBytes, 0);
          }
          j += 1;
        }
      }
    }
  }
}

/** acc[i] += part[i] for n floats. */
export function addInto(acc: usize, part: usize, n: i32): void {
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), v128.load(part + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(acc + o, load<f32>(acc + o) + load<f32>(part + o));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Strided block copy: the core of channel Slice / SplitV / Concat on NHWC tensors (tfjs-backend-wasm copies the
// whole input out of the heap for every Slice and then copies each pixel's channels with a JS call).

/**
 * For r in [0, rows): copies `width` floats from src + (r * srcStride + srcOff) to dst + (r * dstStride + dstOff);
 * strides and offsets in floats.
 */
export function copyBlock(
  src: usize,
  srcStride: i32,
  srcOff: i32,
  dst: usize,
  dstStride: i32,
  dstOff: i32,
  rows: i32,
  width: i32,
): void {
  const bytes = <usize>width << 2;
  let ps = src + (<usize>srcOff << 2);
  let pd = dst + (<usize>dstOff << 2);
  const ss = <usize>srcStride << 2;
  const ds = <usize>dstStride << 2;
  if (width >= 64) {
    for (let r: i32 = 0; r < rows; r++) {
      memory.copy(pd, ps, bytes);
      ps += ss;
      pd += ds;
    }
    return;
  }
  const w4 = <usize>(width & ~3) << 2;
  for (let r: i32 = 0; r < rows; r++) {
    let o: usize = 0;
    for (; o < w4; o += 16) v128.store(pd + o, v128.load(ps + o));
    for (; o < bytes; o += 4) store<f32>(pd + o, load<f32>(ps + o));
    ps += ss;
    pd += ds;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// ResizeBilinear gradient (decoder upsampling): each dy pixel adds its four bilinear weights into dx. The source
// rows/columns and fractions come precomputed from the caller (the forward's exact index arithmetic).

/**
 * dx [B, xH, xW, C] (zeroed here) += the transpose of bilinear resizing applied to dy [B, yH, yW, C].
 * rowTop/rowBottom (i32[yH]), rowFrac (f32[yH]), colLeft/colRight (i32[yW]), colFrac (f32[yW]).
 */
export function resizeBilinearGrad(
  dy: usize,
  dx: usize,
  B: i32,
  xH: i32,
  xW: i32,
  yH: i32,
  yW: i32,
  C: i32,
  rowTop: usize,
  rowBottom: usize,
  rowFrac: usize,
  colLeft: usize,
  colRight: usize,
  colFrac: usize,
): void {
  const pix = <usize>C << 2;
  memory.fill(dx, 0, <usize>B * <usize>xH * <usize>xW * pix);
  const C4 = C & ~3;
  let pd = dy;
  for (let b: i32 = 0; b < B; b++) {
    for (let r: i32 = 0; r < yH; r++) {
      const fy = load<f32>(rowFrac + (<usize>r << 2));
      const top = dx + <usize>((b * xH + load<i32>(rowTop + (<usize>r << 2))) * xW) * pix;
      const bot = dx + <usize>((b * xH + load<i32>(rowBottom + (<usize>r << 2))) * xW) * pix;
      for (let c: i32 = 0; c < yW; c++) {
        const fx = load<f32>(colFrac + (<usize>c << 2));
        const l = <usize>load<i32>(colLeft + (<usize>c << 2)) * pix;
        const rr = <usize>load<i32>(colRight + (<usize>c << 2)) * pix;
        const w00: f32 = (1 - fy) * (1 - fx);
        const w01: f32 = (1 - fy) * fx;
        const w10: f32 = fy * (1 - fx);
        const w11: f32 = fy * fx;
        const v00 = f32x4.splat(w00);
        const v01 = f32x4.splat(w01);
        const v10 = f32x4.splat(w10);
        const v11 = f32x4.splat(w11);
        let k: i32 = 0;
        for (; k < C4; k += 4) {
          const off = <usize>k << 2;
          const g = v128.load(pd + off);
          v128.store(top + l + off, f32x4.add(v128.load(top + l + off), f32x4.mul(g, v00)));
          v128.store(top + rr + off, f32x4.add(v128.load(top + rr + off), f32x4.mul(g, v01)));
          v128.store(bot + l + off, f32x4.add(v128.load(bot + l + off), f32x4.mul(g, v10)));
          v128.store(bot + rr + off, f32x4.add(v128.load(bot + rr + off), f32x4.mul(g, v11)));
        }
        for (; k < C; k++) {
          const off = <usize>k << 2;
          const g = load<f32>(pd + off);
          store<f32>(top + l + off, load<f32>(top + l + off) + g * w00);
          store<f32>(top + rr + off, load<f32>(top + rr + off) + g * w01);
          store<f32>(bot + l + off, load<f32>(bot + l + off) + g * w10);
          store<f32>(bot + rr + off, load<f32>(bot + rr + off) + g * w11);
        }
        pd += pix;
      }
    }
  }
}

/**
 * ResizeNearestNeighbor gradient: dx [B, xH, xW, C] (zeroed here) += dy [B, yH, yW, C] at each output pixel's
 * source pixel; rowSrc (i32[yH]) and colSrc (i32[yW]) come from the forward's own index arithmetic.
 */
export function resizeNearestGrad(dy: usize, dx: usize, B: i32, xH: i32, xW: i32, yH: i32, yW: i32, C: i32, rowSrc: usize, colSrc: usize): void {
  const pix = <usize>C << 2;
  memory.fill(dx, 0, <usize>B * <usize>xH * <usize>xW * pix);
  const C4 = C & ~3;
  let pd = dy;
  for (let b: i32 = 0; b < B; b++) {
    for (let r: i32 = 0; r < yH; r++) {
      const row = dx + <usize>((b * xH + load<i32>(rowSrc + (<usize>r << 2))) * xW) * pix;
      for (let c: i32 = 0; c < yW; c++) {
        const q = row + <usize>load<i32>(colSrc + (<usize>c << 2)) * pix;
        let k: i32 = 0;
        for (; k < C4; k += 4) {
          const off = <usize>k << 2;
          v128.store(q + off, f32x4.add(v128.load(q + off), v128.load(pd + off)));
        }
        for (; k < C; k++) {
          const off = <usize>k << 2;
          store<f32>(q + off, load<f32>(q + off) + load<f32>(pd + off));
        }
        pd += pix;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Depthwise convolution gradients (stock tfjs-backend-wasm 4.22.0 registers neither, so depthwise and separable
// convolutions could not train). Filter [KH, KW, C, M]; dy has C*M channels, channel c*M + m of dy belongs to input
// channel c. Dilation is supported (tfjs's own gradient refuses dilation > 1, but the kernels can be called).

/** acc[j] += x[j / M] * g[j] for j < C*M: one tap of one output pixel of the filter gradient. */
function dwTapFilter(acc: usize, xp: usize, g: usize, C: i32, M: i32): void {
  if (M == 1) {
    let c: i32 = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(v128.load(xp + o), v128.load(g + o))));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(acc + o, load<f32>(acc + o) + load<f32>(xp + o) * load<f32>(g + o));
    }
    return;
  }
  if ((M & 3) == 0) {
    for (let c: i32 = 0; c < C; c++) {
      const xv = f32x4.splat(load<f32>(xp + (<usize>c << 2)));
      const base = <usize>(c * M) << 2;
      for (let m: i32 = 0; m < M; m += 4) {
        const o = base + (<usize>m << 2);
        v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(xv, v128.load(g + o))));
      }
    }
    return;
  }
  for (let c: i32 = 0; c < C; c++) {
    const xv = load<f32>(xp + (<usize>c << 2));
    const base = <usize>(c * M) << 2;
    for (let m: i32 = 0; m < M; m++) {
      const o = base + (<usize>m << 2);
      store<f32>(acc + o, load<f32>(acc + o) + xv * load<f32>(g + o));
    }
  }
}

/** dxp[c] += sum over m of g[c*M + m] * f[c*M + m]: one tap of one output pixel of the input gradient. */
function dwTapInput(dxp: usize, g: usize, f: usize, C: i32, M: i32): void {
  if (M == 1) {
    let c: i32 = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(dxp + o, f32x4.add(v128.load(dxp + o), f32x4.mul(v128.load(g + o), v128.load(f + o))));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(dxp + o, load<f32>(dxp + o) + load<f32>(g + o) * load<f32>(f + o));
    }
    return;
  }
  for (let c: i32 = 0; c < C; c++) {
    const base = <usize>(c * M) << 2;
    let s: f32 = 0;
    for (let m: i32 = 0; m < M; m++) {
      const o = base + (<usize>m << 2);
      s += load<f32>(g + o) * load<f32>(f + o);
    }
    const p = dxp + (<usize>c << 2);
    store<f32>(p, load<f32>(p) + s);
  }
}

/**
 * The loop both depthwise gradients share: every tap of every output pixel, padding skipped. mode 0 (filter
 * gradient): pix is x and taps are dw; mode 1 (input gradient): pix is dx and taps are the filter.
 */
function depthwiseTaps(
  mode: i32,
  pix: usize,
  dy: usize,
  taps: usize,
  B: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  M: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  DLH: i32,
  DLW: i32,
  padTop: i32,
  padLeft: i32,
): void {
  const cBytes = <usize>C << 2;
  const cmBytes = <usize>(C * M) << 2;
  let g = dy;
  for (let b: i32 = 0; b < B; b++) {
    for (let oh: i32 = 0; oh < OH; oh++) {
      for (let ow: i32 = 0; ow < OW; ow++) {
        for (let kh: i32 = 0; kh < KH; kh++) {
          const ih = oh * SH + kh * DLH - padTop;
          if (ih < 0 || ih >= H) continue;
          const row = pix + <usize>((b * H + ih) * W) * cBytes;
          for (let kw: i32 = 0; kw < KW; kw++) {
            const iw = ow * SW + kw * DLW - padLeft;
            if (iw < 0 || iw >= W) continue;
            const p = row + <usize>iw * cBytes;
            const t = taps + <usize>(kh * KW + kw) * cmBytes;
            if (mode == 0) dwTapFilter(t, p, g, C, M);
            else dwTapInput(p, g, t, C, M);
          }
        }
        g += cmBytes;
      }
    }
  }
}

/**
 * dw [KH, KW, C, M] (zeroed here) = sum over images, output pixels and taps of x[b, ih, iw, c] * dy[b, oh, ow, c*M + m]
 * with ih = oh*SH + kh*DLH - padTop, iw = ow*SW + kw*DLW - padLeft (taps outside x are padding).
 */
export function depthwiseBackpropFilter(
  x: usize,
  dy: usize,
  dw: usize,
  B: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  M: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  DLH: i32,
  DLW: i32,
  padTop: i32,
  padLeft: i32,
): void {
  memory.fill(dw, 0, <usize>(KH * KW * C * M) << 2);
  depthwiseTaps(0, x, dy, dw, B, H, W, C, OH, OW, M, KH, KW, SH, SW, DLH, DLW, padTop, padLeft);
}

/**
 * dx [B, H, W, C] (zeroed here) = the transpose of the depthwise convolution applied to dy [B, OH, OW, C*M] with
 * filter f [KH, KW, C, M]: every dy pixel adds sum over m of dy[., c*M + m] * f[kh, kw, c, m] into the input pixel
 * each tap read.
 */
export function depthwiseBackpropInput(
  dy: usize,
  f: usize,
  dx: usize,
  B: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  M: i32,
  KH: i32,
  KW: i32,
  SH: i32,
  SW: i32,
  DLH: i32,
  DLW: i32,
  padTop: i32,
  padLeft: i32,
): void {
  memory.fill(dx, 0, <usize>B * <usize>(H * W * C) << 2);
  depthwiseTaps(1, dx, dy, f, B, H, W, C, OH, OW, M, KH, KW, SH, SW, DLH, DLW, padTop, padLeft);
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise gradient and column reductions that stock tfjs-backend-wasm runs as several passes.

/**
 * dx = dy * step(x), the gradient of Relu, in one pass (tfjs runs Step, Cast and Multiply): step(x) is 1 for
 * x > 0, 0 otherwise and NaN for NaN x, so NaNs in x or dy propagate exactly as in tfjs.
 */
export function reluGrad(dy: usize, x: usize, dx: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    const step = v128.or(v128.and(f32x4.gt(xv, f32x4.splat(0)), one), v128.and(f32x4.ne(xv, xv), xv));
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), step));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const xv = load<f32>(x + o);
    const step: f32 = xv != xv ? xv : xv > 0 ? 1 : 0;
    store<f32>(dx + o, load<f32>(dy + o) * step);
  }
}

/**
 * Per-column sums of x [rows, C] added into f64 out[0..C) (zeroed by the caller): a reduction over all leading
 * axes of an NHWC tensor (bias gradients, means over batch and space) without the transpose tfjs does first.
 */
export function colSums(x: usize, rows: i32, C: i32, out: usize): void {
  const rowBytes = <usize>C << 2;
  let c: i32 = 0;
  for (; c + 16 <= C; c += 16) {
    const off = <usize>c << 2;
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0);
      let s3 = f32x4.splat(0);
      let p = x + <usize>r * rowBytes + off;
      for (; r < end; r++) {
        s0 = f32x4.add(s0, v128.load(p));
        s1 = f32x4.add(s1, v128.load(p, 16));
        s2 = f32x4.add(s2, v128.load(p, 32));
        s3 = f32x4.add(s3, v128.load(p, 48));
        p += rowBytes;
      }
      const o = out + (<usize>c << 3);
      flush4(o, s0);
      flush4(o + 32, s1);
      flush4(o + 64, s2);
      flush4(o + 96, s3);
    }
  }
  for (; c + 4 <= C; c += 4) {
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s = f32x4.splat(0);
      let p = x + <usize>r * rowBytes + (<usize>c << 2);
      for (; r < end; r++) {
        s = f32x4.add(s, v128.load(p));
        p += rowBytes;
      }
      flush4(out + (<usize>c << 3), s);
    }
  }
  for (; c < C; c++) {
    let r: i32 = 0;
    while (r < rows) {
      const end = min(rows, r + CHUNK);
      let s: f32 = 0;
      let p = x + <usize>r * rowBytes + (<usize>c << 2);
      for (; r < end; r++) {
        s += load<f32>(p);
        p += rowBytes;
      }
      const o = out + (<usize>c << 3);
      store<f64>(o, load<f64>(o) + <f64>s);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// GEMM (assembly/gemm.ts)

export { convGemmFilterRows, convGemmRows, gemm, gemmPackB, im2col } from './gemm';

// ---------------------------------------------------------------------------------------------------------------
// Adam

/**
 * One Adam step over n parameters in one pass (tfjs runs about fifteen element-wise kernels per variable):
 * m' = m*b1 + g*omb1, v' = v*b2 + g*g*omb2, value' = (m'/c1) / (sqrt(v'/c2) + eps) * negLr + value, each operation
 * rounded to float32 in tfjs's order, so the result is tfjs's.
 */
export function adamUpdate(
  value: usize,
  g: usize,
  m: usize,
  v: usize,
  outValue: usize,
  outM: usize,
  outV: usize,
  n: i32,
  b1: f32,
  omb1: f32,
  b2: f32,
  omb2: f32,
  c1: f32,
  c2: f32,
  eps: f32,
  negLr: f32,
): void {
  const vb1 = f32x4.splat(b1);
  const vomb1 = f32x4.splat(omb1);
  const vb2 = f32x4.splat(b2);
  const vomb2 = f32x4.splat(omb2);
  const vc1 = f32x4.splat(c1);
  const vc2 = f32x4.splat(c2);
  const veps = f32x4.splat(eps);
  const vlr = f32x4.splat(negLr);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o);
    const m2 = f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(gv, vomb1));
    const v2 = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(gv, gv), vomb2));
    const step = f32x4.mul(f32x4.div(f32x4.div(m2, vc1), f32x4.add(f32x4.sqrt(f32x4.div(v2, vc2)), veps)), vlr);
    v128.store(outM + o, m2);
    v128.store(outV + o, v2);
    v128.store(outValue + o, f32x4.add(step, v128.load(value + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o);
    const m2: f32 = load<f32>(m + o) * b1 + gv * omb1;
    const v2: f32 = load<f32>(v + o) * b2 + gv * gv * omb2;
    store<f32>(outM + o, m2);
    store<f32>(outV + o, v2);
    store<f32>(outValue + o, ((m2 / c1) / (Mathf.sqrt(v2 / c2) + eps)) * negLr + load<f32>(value + o));
  }
}
