import type { Point } from './raster';

/*
 * Geometry helpers: the patient frame (normalised anatomy coordinates -> image pixels) and smooth curves.
 * Anatomy is described in normalised coordinates (u right, v down, both in [0, 1] of an upright PA film);
 * the frame applies the patient's position on the detector (scale, shift, small rotation) and the image size,
 * so every structure and finding moves together and all coordinates end up in pixels of the requested size.
 */

/** Maps normalised anatomy coordinates to pixels of one image. */
export interface Frame {
  readonly size: number;
  /** Pixel position of the normalised point (u, v). */
  toPx(u: number, v: number): Point;
  /** Pixel length of a normalised length. */
  len(l: number): number;
  /** Image-space angle of a normalised-space angle (radians). */
  angle(a: number): number;
}

/** A frame for an image of `size` pixels: scale about the centre, then rotate, then shift (normalised units). */
export function createFrame(size: number, scale: number, rotation: number, shiftU: number, shiftV: number): Frame {
  const c = Math.cos(rotation);
  const s = Math.sin(rotation);
  return {
    size,
    toPx(u, v) {
      const du = (u - 0.5) * scale;
      const dv = (v - 0.5) * scale;
      return { x: size * (0.5 + shiftU + du * c - dv * s), y: size * (0.5 + shiftV + du * s + dv * c) };
    },
    len: (l) => l * scale * size,
    angle: (a) => a + rotation,
  };
}

function catmullRom(p0: Point, p1: Point, p2: Point, p3: Point, t: number): Point {
  const t2 = t * t;
  const t3 = t2 * t;
  const f = (a: number, b: number, c: number, d: number): number =>
    0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t2 + (-a + 3 * b - 3 * c + d) * t3);
  return { x: f(p0.x, p1.x, p2.x, p3.x), y: f(p0.y, p1.y, p2.y, p3.y) };
}

/** A closed Catmull-Rom curve through `ctrl`, `perSegment` samples per control point. */
export function closedSpline(ctrl: readonly Point[], perSegment = 8): Point[] {
  const n = ctrl.length;
  const out: Point[] = [];
  for (let i = 0; i < n; i++) {
    const p0 = ctrl[(i - 1 + n) % n] as Point;
    const p1 = ctrl[i] as Point;
    const p2 = ctrl[(i + 1) % n] as Point;
    const p3 = ctrl[(i + 2) % n] as Point;
    for (let k = 0; k < perSegment; k++) out.push(catmullRom(p0, p1, p2, p3, k / perSegment));
  }
  return out;
}

/** An open Catmull-Rom curve through `ctrl` (end points repeated), `perSegment` samples per span. */
export function openSpline(ctrl: readonly Point[], perSegment = 8): Point[] {
  const n = ctrl.length;
  if (n < 2) return ctrl.slice();
  const out: Point[] = [];
  for (let i = 0; i + 1 < n; i++) {
    const p0 = ctrl[Math.max(0, i - 1)] as Point;
    const p1 = ctrl[i] as Point;
    const p2 = ctrl[i + 1] as Point;
    const p3 = ctrl[Math.min(n - 1, i + 2)] as Point;
    for (let k = 0; k < perSegment; k++) out.push(catmullRom(p0, p1, p2, p3, k / perSegment));
  }
  out.push(ctrl[n - 1] as Point);
  return out;
}

/** Polygon approximating an ellipse (pixel units), `n` vertices. */
export function ellipsePoints(cx: number, cy: number, rx: number, ry: number, angle: number, n = 48): Point[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out: Point[] = [];
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    const ex = rx * Math.cos(t);
    const ey = ry * Math.sin(t);
    out.push({ x: cx + ex * c - ey * s, y: cy + ex * s + ey * c });
  }
  return out;
}

/** Mean of the vertices. */
export function centroid(pts: readonly Point[]): Point {
  let x = 0;
  let y = 0;
  for (const p of pts) {
    x += p.x;
    y += p.y;
  }
  return { x: x / pts.length, y: y / pts.length };
}
