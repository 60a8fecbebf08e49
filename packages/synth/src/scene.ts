import type { Box, BinaryMask, Rng } from '@multichexnet/core';
import type { Anatomy, Pose } from './anatomy';
import { closedSpline, createFrame, ellipsePoints, type Frame } from './geometry';
import { blurField, createField, fillPolygon, type Field, type PixelRect, type Point } from './raster';

/*
 * The scene of one PA/AP film while it is being drawn: the frame, the density field that structures add to,
 * the lung geometry findings place themselves in, and the weights that confine lung markings.
 */

/** One lung. Index 0 of `Scene.lungs` is image-left (the patient's right lung), index 1 image-right. */
export interface Lung {
  /** Patient side. */
  side: 'R' | 'L';
  /** Image direction of "lateral": -1 (image-left lung) or +1. */
  sign: -1 | 1;
  outline: Point[];
  /** 0/1 mask of the lung where it is visible (not behind the heart or mediastinum); findings live here. */
  hard: Field;
  /** 0/1 mask of the whole lung, including the parts behind the heart. */
  full: Field;
  rect: PixelRect;
  hilum: Point;
  /** Lowest lung row per image column (-1 where the lung has no pixel). */
  bottom: Int32Array;
}

/** A drawn finding: what it is, its 0/1 mask and its bounding box, in pixels of the image. */
export interface DrawnFinding {
  kind: string;
  mask: BinaryMask;
  box: Box;
}

/** The drawing state of one film. */
export interface Scene {
  size: number;
  frame: Frame;
  anatomy: Anatomy;
  pose: Pose;
  /** Tissue density: the tone curve turns it into brightness (0 = air). */
  density: Field;
  /** Scratch field for strokes (kept zero between uses). */
  scratch: Field;
  lungs: [Lung, Lung];
  /** Union of the lungs, 0/1 and softened. */
  lungHard: Field;
  lungSoft: Field;
  /** Heart, mediastinum and aortic knob, softened: lungs behind them do not show. */
  central: Field;
  heartHard: Field;
  /** Where lung markings (vessels, parenchymal texture) show, in [0, 1]. */
  markings: Field;
  /** Upper abdomen below the diaphragm, between the lateral lung walls, in [0, 1]. */
  abdomen: Field;
  /** Multipliers that findings may change before the base anatomy is drawn. */
  airScale: number;
  vesselScale: number;
  vesselDepth: number;
}

/** Normalised lung control points: apex, lateral wall, costophrenic angle, dome, medial border. */
function lungControlPoints(a: Anatomy, pose: Pose, sign: -1 | 1): Array<[number, number]> {
  const dome = (sign < 0 ? a.domeR : a.domeL) + pose.inspiration;
  const cp = dome + a.cpDepth;
  const W = a.lungHalfWidth;
  const m = a.medialHalf;
  const top = a.lungTop;
  // Offsets from the midline (positive = lateral) and v.
  const pts: Array<[number, number]> = [
    [0.17, top],
    [0.23, top + 0.02],
    [0.29, top + 0.06],
    [W * 0.9, top + 0.14],
    [W * 0.98, top + 0.27],
    [W, cp - 0.12],
    [W * 0.985, cp - 0.03],
    [W * 0.965, cp],
    [W * 0.8, dome + 0.032],
    [W * 0.52, dome],
    [m + 0.06, dome + 0.02],
    [m + 0.02, dome + 0.045],
    [m + 0.005, dome - 0.1],
    [m, top + 0.2],
    [m + 0.02, top + 0.08],
    [0.12, top + 0.02],
  ];
  return pts.map(([off, v]) => [a.mid + sign * off, v]);
}

function buildLung(frame: Frame, a: Anatomy, pose: Pose, sign: -1 | 1, size: number, central: Field): Lung {
  const ctrl = lungControlPoints(a, pose, sign).map(([u, v]) => frame.toPx(u, v));
  const outline = closedSpline(ctrl, 6);
  const full = createField(size, size);
  fillPolygon(full, outline, 1);
  const hard = createField(size, size);
  for (let i = 0; i < hard.data.length; i++)
    hard.data[i] = (full.data[i] as number) > 0 && (central.data[i] as number) < 0.5 ? 1 : 0;
  let x0 = size;
  let y0 = size;
  let x1 = 0;
  let y1 = 0;
  const bottom = new Int32Array(size).fill(-1);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((full.data[y * size + x] as number) > 0) {
        if (x < x0) x0 = x;
        if (x >= x1) x1 = x + 1;
        if (y < y0) y0 = y;
        if (y >= y1) y1 = y + 1;
        bottom[x] = y;
      }
    }
  }
  const hilum = frame.toPx(a.mid + sign * (a.medialHalf + 0.045), sign < 0 ? 0.45 : 0.43);
  return { side: sign < 0 ? 'R' : 'L', sign, outline, hard, full, rect: { x0, y0, x1, y1 }, hilum, bottom };
}

/** Cardiac silhouette outline in pixels (one closed smooth polygon, apex to image-right on PA). */
export function heartOutline(frame: Frame, a: Anatomy, pose: Pose): Point[] {
  const magnify = pose.view === 'PA' ? 1 : 1.1;
  const k = a.heartScale * magnify;
  const dome = a.domeL + pose.inspiration;
  const domeR = a.domeR + pose.inspiration;
  const R = Math.max(a.heartRight * k, a.medialHalf + 0.02);
  const L = a.heartLeft * k;
  const H = a.heartHeight * (1 + (k - 1) * 0.45);
  const m = a.medialHalf;
  const ctrl: Array<[number, number]> = [
    [-m * 1.05, dome - H],
    [-R * 0.95, dome - H * 0.62],
    [-R, dome - H * 0.3],
    [-R * 0.92, domeR + 0.008],
    [0, dome + 0.035],
    [L * 0.7, dome + 0.03],
    [L, dome - 0.005],
    [L * 0.97, dome - H * 0.35],
    [L * 0.75, dome - H * 0.72],
    [m + 0.035, dome - H * 0.92],
    [m * 0.9, dome - H],
  ];
  return closedSpline(
    ctrl.map(([o, v]) => frame.toPx(a.mid + o, v)),
    6,
  );
}

/** Builds the geometry of a film. Findings may already have adjusted `anatomy`. */
export function createScene(size: number, anatomy: Anatomy, pose: Pose): Scene {
  const frame = createFrame(size, pose.scale, pose.rotation, pose.shiftU, pose.shiftV);
  const heartHard = createField(size, size);
  fillPolygon(heartHard, heartOutline(frame, anatomy, pose), 1);
  const central = { width: size, height: size, data: heartHard.data.slice() };
  const a = anatomy;
  const dome = a.domeL + pose.inspiration;
  // Superior mediastinum: a trapezoid widening down to the heart, then aortic knob and pulmonary trunk bulges.
  const med = [
    frame.toPx(a.mid - a.medialHalf * 0.75, a.lungTop - 0.03),
    frame.toPx(a.mid + a.medialHalf * 0.75, a.lungTop - 0.03),
    frame.toPx(a.mid + a.medialHalf * 1.05, dome - 0.14),
    frame.toPx(a.mid - a.medialHalf * 1.1, dome - 0.14),
  ];
  fillPolygon(central, med, 1);
  const knob = frame.toPx(a.mid + a.medialHalf + 0.002, a.lungTop + 0.12);
  fillPolygon(central, ellipsePoints(knob.x, knob.y, frame.len(0.028), frame.len(0.026), 0), 1);
  const trunk = frame.toPx(a.mid + a.medialHalf + 0.012, a.lungTop + 0.2);
  fillPolygon(central, ellipsePoints(trunk.x, trunk.y, frame.len(0.022), frame.len(0.04), 0), 1);
  blurField(central, frame.len(0.011));

  const lungs: [Lung, Lung] = [
    buildLung(frame, anatomy, pose, -1, size, central),
    buildLung(frame, anatomy, pose, 1, size, central),
  ];
  const lungHard = createField(size, size);
  for (const l of lungs)
    for (let i = 0; i < lungHard.data.length; i++)
      lungHard.data[i] = Math.max(lungHard.data[i] as number, l.full.data[i] as number);
  const lungSoft = { width: size, height: size, data: lungHard.data.slice() };
  blurField(lungSoft, frame.len(0.006));

  const markings = createField(size, size);
  for (let i = 0; i < markings.data.length; i++) {
    markings.data[i] = (lungSoft.data[i] as number) * (1 - 0.95 * (central.data[i] as number));
  }
  return {
    size,
    frame,
    anatomy,
    pose,
    density: createField(size, size),
    scratch: createField(size, size),
    lungs,
    lungHard,
    lungSoft,
    central,
    heartHard,
    markings,
    abdomen: createField(size, size),
    airScale: 1,
    vesselScale: 1,
    vesselDepth: 4,
  };
}

/** A zone of a lung, as fractions of its bounding box: `fy` top -> bottom, `fl` medial -> lateral. */
export interface LungZone {
  fy: [number, number];
  fl: [number, number];
}

/** Whether a pixel is inside the lung. */
export function inLung(lung: Lung, x: number, y: number): boolean {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  if (xi < 0 || yi < 0 || xi >= lung.hard.width || yi >= lung.hard.height) return false;
  return (lung.hard.data[yi * lung.hard.width + xi] as number) > 0;
}

/**
 * A point inside `lung` within `zone`, at least `margin` pixels from the lung edge (checked at 8 points
 * around it). Falls back to smaller margins, then to the lung centre region, so it always returns a point.
 */
export function sampleInLung(lung: Lung, zone: LungZone, margin: number, rng: Rng): Point {
  const { x0, y0, x1, y1 } = lung.rect;
  const w = x1 - x0;
  const h = y1 - y0;
  for (let m = margin, round = 0; round < 4; round++, m *= 0.6) {
    for (let tries = 0; tries < 60; tries++) {
      const fy = rng.uniform(zone.fy[0], zone.fy[1]);
      const fl = rng.uniform(zone.fl[0], zone.fl[1]);
      const x = lung.sign < 0 ? x1 - fl * w : x0 + fl * w;
      const y = y0 + fy * h;
      if (!inLung(lung, x, y)) continue;
      let ok = true;
      for (let k = 0; k < 8 && ok; k++) {
        const t = (k * Math.PI) / 4;
        ok = inLung(lung, x + m * Math.cos(t), y + m * Math.sin(t));
      }
      if (ok) return { x, y };
    }
  }
  return { x: (x0 + x1) / 2 + lung.sign * w * 0.1, y: y0 + h * 0.55 };
}

/** Position of a pixel within a lung's box: `fy` top -> bottom, `fl` medial -> lateral (may leave [0, 1]). */
export function lungFraction(lung: Lung, x: number, y: number): { fy: number; fl: number } {
  const { x0, y0, x1, y1 } = lung.rect;
  const fl = lung.sign < 0 ? (x1 - x) / (x1 - x0) : (x - x0) / (x1 - x0);
  return { fy: (y - y0) / (y1 - y0), fl };
}

/** Converts a 0/1 (or thresholded) field into a drawn finding with its bounding box; null when empty. */
export function toFinding(kind: string, f: Field, threshold = 0.5): DrawnFinding | null {
  const data = new Uint8Array(f.width * f.height);
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const i = y * f.width + x;
      if ((f.data[i] as number) > threshold) {
        data[i] = 1;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null;
  return {
    kind,
    mask: { width: f.width, height: f.height, data },
    box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 },
  };
}
