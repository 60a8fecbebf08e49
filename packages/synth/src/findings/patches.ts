import type { Rng } from '@multichexnet/core';
import { valueNoise } from '../noise';
import {
  addGaussian,
  addScaled,
  blurField,
  createField,
  fullRect,
  smoothstep,
  strokePolyline,
  type Field,
  type Point,
} from '../raster';
import type { Lung, Scene } from '../scene';

/*
 * Building blocks shared by the airspace findings: a fluffy patch (a cluster of Gaussian lobules modulated by
 * value noise, confined to one lung), its conversion to density, and air bronchograms.
 */

/** A patch of airspace opacity in [0, 1] over the image (1 = fully opacified), confined to `lung`. */
export interface Patch {
  field: Field;
  lung: Lung;
}

/** Options of {@link makePatch}: centre, size (pixels), lobule count, edge fluffiness in [0, 1]. */
export interface PatchShape {
  center: Point;
  sx: number;
  sy: number;
  lobules: number;
  fluff: number;
}

/**
 * A patch: `lobules` Gaussian lobules scattered around the centre, normalised to peak 1, then shaped by
 * a smoothstep (dense core, soft edge) and value noise (ill-defined margins), then clipped to the lung.
 */
export function makePatch(scene: Scene, lung: Lung, shape: PatchShape, rng: Rng): Patch {
  const { size } = scene;
  const f = createField(size, size);
  for (let k = 0; k < shape.lobules; k++) {
    const cx = shape.center.x + rng.normal(0, shape.sx * 0.45);
    const cy = shape.center.y + rng.normal(0, shape.sy * 0.45);
    const s = rng.uniform(0.45, 0.8);
    addGaussian(f, cx, cy, shape.sx * s, shape.sy * s, rng.uniform(0.6, 1), rng.uniform(0, Math.PI));
  }
  let peak = 0;
  for (let i = 0; i < f.data.length; i++) if ((f.data[i] as number) > peak) peak = f.data[i] as number;
  const noise = valueNoise(size, size, Math.max(3, Math.min(shape.sx, shape.sy) * 0.9), rng, 2, 0.5);
  const inv = peak > 0 ? 1 / peak : 0;
  for (let i = 0; i < f.data.length; i++) {
    const v = (f.data[i] as number) * inv;
    if (v <= 0.01) {
      f.data[i] = 0;
      continue;
    }
    const n = (noise.data[i] as number) - 0.5;
    f.data[i] = smoothstep(0.12, 0.55, v + shape.fluff * 0.5 * n);
  }
  // Airspace disease has no crisp margin: soften, then confine to the visible lung.
  blurField(f, Math.min(shape.sx, shape.sy) * 0.25, 2);
  for (let i = 0; i < f.data.length; i++) f.data[i] = (f.data[i] as number) * (lung.hard.data[i] as number);
  return { field: f, lung };
}

/** Adds `amp · patch` (softened by the lung's soft edge) to the scene density. */
export function applyPatch(scene: Scene, patch: Patch, amp: number): void {
  const d = scene.density.data;
  for (let i = 0; i < d.length; i++) {
    const v = patch.field.data[i] as number;
    if (v > 0) d[i] = (d[i] as number) + amp * v * (scene.lungSoft.data[i] as number);
  }
}

/** Sum (clamped to 1) of several patches' fields, for one instance made of several patches. */
export function unionField(scene: Scene, fields: readonly Field[]): Field {
  const out = createField(scene.size, scene.size);
  for (const f of fields)
    for (let i = 0; i < out.data.length; i++) out.data[i] = Math.max(out.data[i] as number, f.data[i] as number);
  return out;
}

/**
 * Air bronchograms: a few dark branching tubes inside a dense region (air-filled bronchi outlined by
 * opacified alveoli), the sign that an opacity is in the airspaces.
 */
export function addAirBronchograms(scene: Scene, region: Field, lung: Lung, rng: Rng, amp: number): void {
  const { frame } = scene;
  const n = rng.int(2, 5);
  const weight = createField(scene.size, scene.size);
  for (let i = 0; i < weight.data.length; i++) weight.data[i] = smoothstep(0.5, 0.9, region.data[i] as number);
  for (let k = 0; k < n; k++) {
    const start = {
      x: lung.hilum.x + lung.sign * frame.len(rng.uniform(0.01, 0.05)),
      y: lung.hilum.y + frame.len(rng.uniform(-0.05, 0.12)),
    };
    const angle = lung.sign > 0 ? rng.uniform(-0.6, 1.1) : Math.PI - rng.uniform(-0.6, 1.1);
    const pts: Point[] = [start];
    let p = start;
    let a = angle;
    for (let s = 0; s < 5; s++) {
      a += rng.normal(0, 0.2);
      p = { x: p.x + Math.cos(a) * frame.len(0.03), y: p.y + Math.sin(a) * frame.len(0.03) };
      pts.push(p);
    }
    strokePolyline(scene.scratch, pts, frame.len(0.0035), 'soft');
  }
  addScaled(scene.density, scene.scratch, -amp, fullRect(scene.scratch), weight);
}
