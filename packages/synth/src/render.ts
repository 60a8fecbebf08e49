import { createRng, deriveSeed, type Rng } from '@multichexnet/core';
import { drawAnatomy, drawPose, type Anatomy, type Pose, type Sex, type ViewPosition } from './anatomy';
import { drawBaseAnatomy } from './base-anatomy';
import { FINDING_PAINTERS, type FindingKind } from './findings/painters';
import { renderLateral } from './lateral';
import type { Field } from './raster';
import { createScene, type DrawnFinding } from './scene';

/** One finding to draw: its kind, how many separate instances (where that applies) and how marked (0..1). */
export interface FindingSpec {
  kind: FindingKind;
  count?: number;
  severity?: number;
}

/** A rendered film: 8-bit gray pixels [H, W] row-major, MONOCHROME2 (0 = black = air), and what was drawn. */
export interface RenderedFilm {
  width: number;
  height: number;
  pixels: Uint8Array;
  findings: DrawnFinding[];
}

/** What to render. `anatomy` is drawn from `rng` when absent (pass one to share it across follow-up films). */
export interface RenderRequest {
  size: number;
  view: ViewPosition;
  sex: Sex;
  findings: readonly FindingSpec[];
  anatomy?: Anatomy;
}

/**
 * Renders one chest film. Every random choice comes from `rng`, so the same rng state gives the same pixels.
 * Findings adjust the anatomy first (e.g. a large heart, a flat diaphragm), then those that change the lung
 * itself (pneumothorax) run before the normal anatomy is drawn, then the rest add their densities on top.
 *
 * Each part draws from its own stream derived from one base seed, so the same rng renders the same patient,
 * pose, anatomy and film noise with or without findings: the difference of the two films is exactly what the
 * findings drew (the tests use that to check that every box and mask lies over its finding).
 */
export function renderFilm(req: RenderRequest, rng: Rng): RenderedFilm {
  const base = rng.seed();
  const stream = (label: string): Rng => createRng(deriveSeed(base, label));
  const anatomy = { ...(req.anatomy ?? drawAnatomy(stream('anatomy'), req.sex)) };
  const pose = drawPose(stream('pose'), req.view);
  if (req.view === 'L') return renderLateral(req, anatomy, pose, stream('lateral'));
  const steps = req.findings.map((f, i) => FINDING_PAINTERS[f.kind](stream(`finding/${i}/${f.kind}`), f));
  for (const s of steps) s.adjust?.(anatomy, pose);
  const scene = createScene(req.size, anatomy, pose);
  const drawn: DrawnFinding[] = [];
  for (const s of steps) if (s.prepare) drawn.push(...s.prepare(scene));
  drawBaseAnatomy(scene, stream('base'));
  for (const s of steps) if (s.draw) drawn.push(...s.draw(scene));
  return { width: req.size, height: req.size, pixels: toneMap(scene.density, pose, stream('film')), findings: drawn };
}

/**
 * Density -> 8-bit brightness: Beer-Lambert-like saturation `1 - exp(-k·D)`, a gamma, the film window, then
 * quantum noise that grows with brightness (fewer photons reach the detector behind dense tissue).
 */
export function toneMap(density: Field, pose: Pose, rng: Rng): Uint8Array {
  const d = density.data;
  const out = new Uint8Array(d.length);
  // The tone curve through a lookup table: exp and pow per pixel cost more than all the drawing.
  const steps = 4096;
  const maxD = 6;
  const lut = new Float32Array(steps + 1);
  const range = pose.white - pose.black;
  for (let k = 0; k <= steps; k++)
    lut[k] = (Math.pow(1 - Math.exp((-pose.exposure * maxD * k) / steps), pose.gamma) - pose.black) / range;
  const scale = steps / maxD;
  for (let i = 0; i < d.length; i++) {
    const p = Math.min(steps - 1, Math.max(0, d[i] as number) * scale);
    const k = Math.floor(p);
    const a = lut[k] as number;
    let t = a + ((lut[k + 1] as number) - a) * (p - k);
    t += rng.normal(0, pose.noise) * (0.4 + 0.6 * Math.min(1, Math.max(0, t)));
    out[i] = Math.round(255 * Math.min(1, Math.max(0, t)));
  }
  return out;
}
