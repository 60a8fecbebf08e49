import type { Rng } from '@multichexnet/core';
import { ellipsePoints } from '../geometry';
import { addScaled, blurField, createField, fillPolygon, fullRect, type Field } from '../raster';
import { sampleInLung, toFinding, type DrawnFinding, type Scene } from '../scene';
import { severityOf, type FindingPainter } from './finding';

/*
 * Focal opacities: a nodule is a small, round, well-defined opacity (under 3 cm: here 3-6 % of the image
 * width, so 4-8 px at 128 px), a mass is larger (6-16 %) and lobulated. Both are fully inside a lung.
 */

function roundLesion(
  scene: Scene,
  radius: number,
  lobes: number,
  rng: Rng,
  margin: number,
): { hard: Field; soft: Field } {
  const lung = rng.pick(scene.lungs);
  const c = sampleInLung(lung, { fy: [0.12, 0.85], fl: [0.15, 0.85] }, radius + margin, rng);
  const hard = createField(scene.size, scene.size);
  fillPolygon(hard, ellipsePoints(c.x, c.y, radius, radius * rng.uniform(0.85, 1.1), rng.uniform(0, Math.PI)), 1);
  for (let k = 1; k < lobes; k++) {
    const a = rng.uniform(0, 2 * Math.PI);
    const r = radius * rng.uniform(0.5, 0.75);
    const d = radius * rng.uniform(0.35, 0.6);
    fillPolygon(hard, ellipsePoints(c.x + d * Math.cos(a), c.y + d * Math.sin(a), r, r * rng.uniform(0.8, 1.2), 0), 1);
  }
  for (let i = 0; i < hard.data.length; i++) hard.data[i] = (hard.data[i] as number) * (lung.hard.data[i] as number);
  const soft = { width: hard.width, height: hard.height, data: hard.data.slice() };
  blurField(soft, Math.max(1, radius * 0.12), 2);
  return { hard, soft };
}

function paintRound(kind: 'Nodule' | 'Mass', rng: Rng, sev: number, count: number, scene: Scene): DrawnFinding[] {
  const out: DrawnFinding[] = [];
  for (let k = 0; k < count; k++) {
    const r =
      kind === 'Nodule'
        ? scene.frame.len(rng.uniform(0.015, 0.026) * (0.85 + 0.3 * sev))
        : scene.frame.len(rng.uniform(0.035, 0.07) * (0.8 + 0.4 * sev));
    const { hard, soft } = roundLesion(scene, r, kind === 'Mass' ? rng.int(2, 5) : 1, rng, scene.frame.len(0.01));
    addScaled(
      scene.density,
      soft,
      kind === 'Nodule' ? rng.uniform(0.38, 0.5) : rng.uniform(0.45, 0.6),
      fullRect(soft),
      undefined,
      false,
    );
    const d = toFinding(kind, hard, 0.5);
    if (d) out.push(d);
  }
  return out;
}

/** Nodule: 1 (sometimes 2) small round opacities. */
export const paintNodule: FindingPainter = (rng, opts) => ({
  draw: (scene) => paintRound('Nodule', rng, severityOf(rng, opts), opts.count ?? (rng.bernoulli(0.2) ? 2 : 1), scene),
});

/** Mass: one larger lobulated opacity. */
export const paintMass: FindingPainter = (rng, opts) => ({
  draw: (scene) => paintRound('Mass', rng, severityOf(rng, opts), opts.count ?? 1, scene),
});
