/*
 * Float raster primitives for the synthetic chest X-ray renderer. A `Field` is a single-channel float image
 * [H, W], row-major; the renderer composes tissue density in fields and tone-maps at the end.
 *
 * Hand-written because the renderer needs a handful of soft-edged shapes on a float canvas with exact,
 * deterministic results in Node and browsers; 2D canvas libraries are 8-bit RGBA, antialias differently per
 * platform and need native code in Node.
 */

/** A float image [H, W], row-major (`data[y * width + x]`). */
export interface Field {
  width: number;
  height: number;
  data: Float32Array;
}

/** A point in pixel coordinates (x right, y down). */
export interface Point {
  x: number;
  y: number;
}

/** An integer pixel rectangle, `x1`/`y1` exclusive. */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function createField(width: number, height: number): Field {
  return { width, height, data: new Float32Array(width * height) };
}

export function cloneField(f: Field): Field {
  return { width: f.width, height: f.height, data: f.data.slice() };
}

function clampRect(f: Field, x0: number, y0: number, x1: number, y1: number): PixelRect {
  return {
    x0: Math.max(0, Math.floor(x0)),
    y0: Math.max(0, Math.floor(y0)),
    x1: Math.min(f.width, Math.ceil(x1)),
    y1: Math.min(f.height, Math.ceil(y1)),
  };
}

/** Hermite smoothstep of `x` between `e0` and `e1` (either order). */
export function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/**
 * Sets pixels whose centre is inside the closed polygon (even-odd rule) to `max(current, value)`.
 * Scanline fill: one pass per row over the edges, spans filled between sorted crossings.
 */
export function fillPolygon(f: Field, pts: readonly Point[], value = 1): void {
  const n = pts.length;
  if (n < 3) return;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of pts) {
    if (p.y < minY) minY = p.y;
    if (p.y > maxY) maxY = p.y;
  }
  const y0 = Math.max(0, Math.floor(minY));
  const y1 = Math.min(f.height - 1, Math.ceil(maxY));
  const xs: number[] = [];
  for (let y = y0; y <= y1; y++) {
    const sy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const a = pts[i] as Point;
      const b = pts[j] as Point;
      if (a.y > sy !== b.y > sy) xs.push(a.x + ((sy - a.y) / (b.y - a.y)) * (b.x - a.x));
    }
    xs.sort((p, q) => p - q);
    const row = y * f.width;
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const xa = Math.max(0, Math.ceil((xs[k] as number) - 0.5));
      const xb = Math.min(f.width - 1, Math.floor((xs[k + 1] as number) - 0.5));
      for (let x = xa; x <= xb; x++) if ((f.data[row + x] as number) < value) f.data[row + x] = value;
    }
  }
}

/**
 * In-place separable box blur, `passes` times (three passes approximate a Gaussian with
 * sigma ≈ radius · 1.0). Edges are clamped. A radius below 1 leaves the field unchanged. Only the bounding
 * box of the nonzero pixels, grown by the blur's reach, is processed (blurring zeros gives zeros), which makes
 * blurring a small patch on a large canvas cheap.
 */
export function blurField(f: Field, radius: number, passes = 3): void {
  const r = Math.round(radius);
  if (r < 1) return;
  const { width: w, height: h, data } = f;
  const nz = boundsNonzero(f);
  if (nz === null) return;
  const reach = r * passes + 1;
  const x0 = Math.max(0, nz.x0 - reach);
  const x1 = Math.min(w, nz.x1 + reach);
  const y0 = Math.max(0, nz.y0 - reach);
  const y1 = Math.min(h, nz.y1 + reach);
  const line = new Float32Array(Math.max(w, h) + 2 * r + 2);
  const norm = 1 / (2 * r + 1);
  for (let pass = 0; pass < passes; pass++) {
    for (let y = y0; y < y1; y++) blurLine(data, y * w + x0, 1, x1 - x0, r, norm, line, x0 === 0, x1 === w);
    for (let x = x0; x < x1; x++) blurLine(data, y0 * w + x, w, y1 - y0, r, norm, line, y0 === 0, y1 === h);
  }
}

/**
 * Blurs one line of `n` samples. Beyond a true image edge the edge value repeats (clamp); beyond the end of a
 * processed window that is not the image edge the field is zero.
 */
function blurLine(
  data: Float32Array,
  start: number,
  stride: number,
  n: number,
  r: number,
  norm: number,
  line: Float32Array,
  clampLo: boolean,
  clampHi: boolean,
): void {
  // line[k + r] holds sample k, padded by r on each side.
  const first = data[start] as number;
  const last = data[start + (n - 1) * stride] as number;
  for (let k = 0; k < r; k++) {
    line[k] = clampLo ? first : 0;
    line[n + r + k] = clampHi ? last : 0;
  }
  line[n + 2 * r] = clampHi ? last : 0;
  for (let i = 0, j = start; i < n; i++, j += stride) line[i + r] = data[j] as number;
  let acc = 0;
  for (let k = 0; k <= 2 * r; k++) acc += line[k] as number;
  for (let i = 0, j = start; i < n; i++, j += stride) {
    data[j] = acc * norm;
    acc += (line[i + 2 * r + 1] as number) - (line[i] as number);
  }
}

/** Bounding rectangle of the nonzero pixels, or null when all are zero. */
function boundsNonzero(f: Field): PixelRect | null {
  const { width: w, height: h, data } = f;
  let y0 = -1;
  let y1 = -1;
  let x0 = w;
  let x1 = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let first = -1;
    let last = -1;
    for (let x = 0; x < w; x++) {
      if ((data[row + x] as number) !== 0) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (y0 < 0) y0 = y;
    y1 = y;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
  }
  return y0 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * Adds a soft-edged filled ellipse: `amp` inside, falling to 0 over the outer `soft` fraction of the radius.
 * `angle` in radians rotates the ellipse (x axis towards y axis).
 */
export function addEllipse(
  f: Field,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  angle: number,
  amp: number,
  soft = 0.15,
): void {
  const R = Math.max(rx, ry) + 1;
  const rect = clampRect(f, cx - R, cy - R, cx + R + 1, cy + R + 1);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  // Soft band never narrower than one pixel, so small shapes stay antialiased.
  const band = Math.max(soft, 1 / Math.max(1, Math.min(rx, ry)));
  for (let y = rect.y0; y < rect.y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = rect.x0; x < rect.x1; x++) {
      const dx = x + 0.5 - cx;
      const u = (dx * c + dy * s) / rx;
      const v = (-dx * s + dy * c) / ry;
      const r = Math.sqrt(u * u + v * v);
      if (r >= 1) continue;
      const i = y * f.width + x;
      f.data[i] = (f.data[i] as number) + amp * smoothstep(1, 1 - band, r);
    }
  }
}

/** Adds an anisotropic Gaussian bump `amp · exp(-(u²/2sx² + v²/2sy²))`, rotated by `angle`, cut at 3 sigma. */
export function addGaussian(f: Field, cx: number, cy: number, sx: number, sy: number, amp: number, angle = 0): void {
  const R = 3 * Math.max(sx, sy);
  const rect = clampRect(f, cx - R, cy - R, cx + R + 1, cy + R + 1);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const ax = 1 / (2 * sx * sx);
  const ay = 1 / (2 * sy * sy);
  for (let y = rect.y0; y < rect.y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = rect.x0; x < rect.x1; x++) {
      const dx = x + 0.5 - cx;
      const u = dx * c + dy * s;
      const v = -dx * s + dy * c;
      const e = u * u * ax + v * v * ay;
      if (e > 4.5) continue;
      const i = y * f.width + x;
      f.data[i] = (f.data[i] as number) + amp * Math.exp(-e);
    }
  }
}

/** How a stroke's cross-section looks: `soft` tapers to the edge, `bone` is brighter at the cortex. */
export type StrokeProfile = 'soft' | 'flat' | 'bone';

/**
 * Max-composites a polyline with per-vertex half widths into `scratch` (values in [0, 1]) and returns the
 * touched rectangle. Using max within one stroke keeps joints from doubling up; the caller then adds the
 * stroke once with {@link addScaled}.
 */
export function strokePolyline(
  scratch: Field,
  pts: readonly Point[],
  halfWidths: readonly number[] | number,
  profile: StrokeProfile = 'soft',
  gain = 1,
): PixelRect {
  let bx0 = Infinity;
  let by0 = Infinity;
  let bx1 = -Infinity;
  let by1 = -Infinity;
  const hwAt = (i: number): number => (typeof halfWidths === 'number' ? halfWidths : (halfWidths[i] as number));
  for (let k = 0; k + 1 < pts.length; k++) {
    const a = pts[k] as Point;
    const b = pts[k + 1] as Point;
    const wa = hwAt(k);
    const wb = hwAt(k + 1);
    const m = Math.max(wa, wb) + 1.5;
    const rect = clampRect(
      scratch,
      Math.min(a.x, b.x) - m,
      Math.min(a.y, b.y) - m,
      Math.max(a.x, b.x) + m + 1,
      Math.max(a.y, b.y) + m + 1,
    );
    if (rect.x0 >= rect.x1 || rect.y0 >= rect.y1) continue;
    bx0 = Math.min(bx0, rect.x0);
    by0 = Math.min(by0, rect.y0);
    bx1 = Math.max(bx1, rect.x1);
    by1 = Math.max(by1, rect.y1);
    const ex = b.x - a.x;
    const ey = b.y - a.y;
    const len2 = ex * ex + ey * ey || 1e-9;
    for (let y = rect.y0; y < rect.y1; y++) {
      const py = y + 0.5 - a.y;
      for (let x = rect.x0; x < rect.x1; x++) {
        const px = x + 0.5 - a.x;
        const t = Math.min(1, Math.max(0, (px * ex + py * ey) / len2));
        const dx = px - t * ex;
        const dy = py - t * ey;
        const d = Math.sqrt(dx * dx + dy * dy);
        const hw = wa + (wb - wa) * t;
        // Coverage antialiases thin strokes (vessels are 1-2 px wide at 256 px).
        const cover = Math.min(1, Math.max(0, hw + 0.5 - d));
        if (cover <= 0) continue;
        const rel = hw > 0 ? Math.min(1, d / hw) : 1;
        let v: number;
        if (profile === 'flat') v = cover;
        else if (profile === 'bone') v = cover * (0.45 + 0.55 * rel * rel * rel);
        else v = cover * Math.sqrt(Math.max(0, 1 - rel * rel)) * 0.8 + cover * 0.2;
        v *= gain;
        const i = y * scratch.width + x;
        if ((scratch.data[i] as number) < v) scratch.data[i] = v;
      }
    }
  }
  if (bx0 === Infinity) return { x0: 0, y0: 0, x1: 0, y1: 0 };
  return { x0: bx0, y0: by0, x1: bx1, y1: by1 };
}

/**
 * `dst += amp · src (· weight)` over `rect`, then clears `src` there (so a scratch field can be reused).
 * `weight`, when given, multiplies per pixel (e.g. a lung mask that confines vessels to the lungs).
 */
export function addScaled(dst: Field, src: Field, amp: number, rect: PixelRect, weight?: Field, clear = true): void {
  for (let y = rect.y0; y < rect.y1; y++) {
    const row = y * dst.width;
    for (let x = rect.x0; x < rect.x1; x++) {
      const i = row + x;
      const v = src.data[i] as number;
      if (v !== 0) {
        const w = weight === undefined ? 1 : (weight.data[i] as number);
        dst.data[i] = (dst.data[i] as number) + amp * v * w;
        if (clear) src.data[i] = 0;
      }
    }
  }
}

/** The whole field as a rectangle. */
export function fullRect(f: Field): PixelRect {
  return { x0: 0, y0: 0, x1: f.width, y1: f.height };
}

/** Bounding rectangle of the pixels where `f > threshold`, or null when none. */
export function boundsAbove(f: Field, threshold: number): PixelRect | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  const { width: w, height: h, data } = f;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if ((data[row + x] as number) > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}
