import type { Rng } from '@multichexnet/core';
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
 */
export function renderFilm(req: RenderRequest, rng: Rng): RenderedFilm {
  const anatomy = { ...(req.anatomy ?? drawAnatomy(rng.fork('anatomy'), req.sex)) };
  const pose = drawPose(rng.fork('pose'), req.view);
  if (req.view === 'L') return renderLateral(req, anatomy, pose, rng.fork('lateral'));
  const steps = req.findings.map((f, i) => FINDING_PAINTERS[f.kind](rng.fork(`${f.kind}/${i}`), f));
  for (const s of steps) s.adjust?.(anatomy, pose);
  const scene = createScene(req.size, anatomy, pose);
  const drawn: DrawnFinding[] = [];
  for (const s of steps) if (s.prepare) drawn.push(...s.prepare(scene));
  drawBaseAnatomy(scene, rng.fork('base'));
  for (const s of steps) if (s.draw) drawn.push(...s.draw(scene));
  return { width: req.size, height: req.size, pixels: toneMap(scene.density, pose, rng.fork('film')), findings: drawn };
}

/**
 * Density -> 8-bit brightness: Beer-Lambert-like saturation `1 - exp(-k·D)`, a gamma, the film window, then
 * quantum noise that grows with brightness (fewer photons reach the detector behind dense tissue).
 */
export function toneMap(density: Field, pose: Pose, rng: Rng): Uint8Array {
  const d = density.data;
  const out = new Uint8Array(d.length);
  const range = pose.white - pose.black;
  for (let i = 0; i < d.length; i++) {
    const D = Math.max(0, d[i] as number);
    let t = Math.pow(1 - Math.exp(-pose.exposure * D), pose.gamma);
    t = (t - pose.black) / range;
    t += rng.normal(0, pose.noise) * (0.4 + 0.6 * Math.min(1, Math.max(0, t)));
    out[i] = Math.round(255 * Math.min(1, Math.max(0, t)));
  }
  return out;
}
