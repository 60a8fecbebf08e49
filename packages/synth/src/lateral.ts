import { createRng, deriveSeed, type Rng } from '@multichexnet/core';
import type { Anatomy, Pose } from './anatomy';
import { closedSpline, createFrame, ellipsePoints, openSpline } from './geometry';
import { valueNoise } from './noise';
import {
  addEllipse,
  addGaussian,
  addScaled,
  blurField,
  createField,
  fillPolygon,
  fullRect,
  strokePolyline,
  type Field,
  type Point,
} from './raster';
import type { RenderedFilm, RenderRequest } from './render';
import { toneMap } from './render';
import { toFinding, type DrawnFinding } from './scene';

/*
 * A lateral film (view `L`, only in the COVID-19 collection), patient facing image-left: anterior chest wall
 * and sternum on the left, the spine on the right, the heart in the anterior lower chest, both lungs
 * superimposed as one dark field, the hemidiaphragms below with the posterior costophrenic recess lowest.
 * Findings are drawn as opacities at a plausible place (COVID-19 posterior-basal, others anywhere).
 */

/** Renders a lateral film. */
export function renderLateral(req: RenderRequest, a: Anatomy, pose: Pose, rng: Rng): RenderedFilm {
  const { size } = req;
  const frame = createFrame(size, pose.scale, pose.rotation, pose.shiftU, pose.shiftV);
  const P = (u: number, v: number): Point => frame.toPx(u, v);
  const density = createField(size, size);
  const body = createField(size, size);
  const ant = 0.12 + rng.uniform(-0.02, 0.02);
  const post = 0.93 + rng.uniform(-0.02, 0.02);
  fillPolygon(
    body,
    closedSpline(
      [
        P(0.38, -0.05),
        P(0.62, -0.05),
        P(0.7, 0.08),
        P(post, 0.3),
        P(post + 0.01, 0.7),
        P(post - 0.02, 1.1),
        P(ant + 0.02, 1.1),
        P(ant - 0.02, 0.7),
        P(ant, 0.3),
        P(0.3, 0.08),
      ],
      6,
    ),
    1,
  );
  blurField(body, frame.len(0.01));
  addScaled(density, body, 1.05 * a.tissue, fullRect(body), undefined, false);

  const dome = (a.domeR + a.domeL) / 2 + pose.inspiration;
  const lung = createField(size, size);
  const lungPts = closedSpline(
    [
      P(0.45, a.lungTop),
      P(0.62, a.lungTop + 0.02),
      P(0.78, 0.22),
      P(0.82, 0.45),
      P(0.82, dome + 0.1),
      P(0.7, dome + 0.06),
      P(0.5, dome - 0.01),
      P(0.3, dome - 0.03),
      P(ant + 0.07, dome - 0.06),
      P(ant + 0.06, 0.35),
      P(0.3, 0.15),
    ],
    6,
  );
  fillPolygon(lung, lungPts, 1);
  const lungHard: Field = { width: size, height: size, data: lung.data.slice() };
  blurField(lung, frame.len(0.008));
  const heart = createField(size, size);
  const hc = P(0.33, dome - 0.08);
  fillPolygon(
    heart,
    ellipsePoints(hc.x, hc.y, frame.len(0.17 * a.heartScale), frame.len(0.14 * a.heartScale), frame.angle(-0.6)),
    1,
  );
  blurField(heart, frame.len(0.02));
  const tex = valueNoise(size, size, size / 22, rng, 3, 0.55);
  const d = density.data;
  for (let i = 0; i < d.length; i++) {
    const l = lung.data[i] as number;
    const h = heart.data[i] as number;
    d[i] = (d[i] as number) - 0.72 * a.air * l * (1 - 0.8 * h) + 0.45 * h + 0.08 * l * (tex.data[i] as number);
  }
  // Spine: vertebral bodies with discs, slight kyphosis; sternum; trachea; arms over the upper chest.
  for (let v = 0.05; v < 1.05; v += a.ribSpacing) {
    const c = P(0.76 + 0.03 * Math.sin(v * 2.5), v);
    addEllipse(density, c.x, c.y, frame.len(0.05), frame.len(a.ribSpacing * 0.44), frame.angle(0), 0.16, 0.35);
  }
  const scratch = createScratch(density);
  let rect = strokePolyline(
    scratch,
    openSpline([P(ant + 0.03, 0.18), P(ant + 0.02, 0.35), P(ant + 0.025, 0.55)], 6),
    frame.len(0.012),
    'bone',
  );
  addScaled(density, scratch, 0.25, rect);
  rect = strokePolyline(scratch, openSpline([P(0.47, -0.05), P(0.5, 0.2), P(0.53, 0.36)], 6), frame.len(0.016), 'flat');
  addScaled(density, scratch, -0.22, rect);
  for (const du of [-0.04, 0.03]) {
    rect = strokePolyline(scratch, [P(0.3 + du, -0.05), P(0.5 + du, 0.35)], frame.len(0.05), 'soft');
    addScaled(density, scratch, 0.07, rect);
  }
  for (let i = 0; i < 9; i++) {
    const v0 = a.lungTop + i * a.ribSpacing;
    rect = strokePolyline(
      scratch,
      openSpline([P(0.82, v0), P(0.65, v0 + 0.06), P(0.45, v0 + 0.13)], 5),
      frame.len(a.ribHalf),
      'bone',
    );
    addScaled(density, scratch, 0.06, rect);
  }

  const drawn: DrawnFinding[] = [];
  const noiseRng = createRng(rng.seed());
  const findingBase = rng.seed();
  req.findings.forEach((spec, k) => {
    const frng = createRng(deriveSeed(findingBase, `${k}/${spec.kind}`));
    const sev = spec.severity ?? frng.uniform(0.35, 1);
    const covid = spec.kind === 'Covid19';
    const f = createField(size, size);
    const n = covid ? frng.int(2, 5) : frng.int(1, 3);
    for (let j = 0; j < n; j++) {
      const c = covid
        ? P(frng.uniform(0.55, 0.75), dome + frng.uniform(-0.18, 0.02))
        : P(frng.uniform(0.3, 0.72), frng.uniform(0.25, dome));
      const s = frame.len(frng.uniform(0.03, 0.06));
      addGaussian(f, c.x, c.y, s, s * frng.uniform(1, 1.5), 1);
    }
    for (let i = 0; i < f.data.length; i++) f.data[i] = Math.min(1, f.data[i] as number) * (lungHard.data[i] as number);
    addScaled(density, f, (covid ? 0.12 : 0.2) + 0.15 * sev, fullRect(f), undefined, false);
    const found = toFinding(spec.kind, f, 0.3);
    if (found) drawn.push(found);
  });
  return { width: size, height: size, pixels: toneMap(density, pose, noiseRng), findings: drawn };
}

function createScratch(like: Field): Field {
  return createField(like.width, like.height);
}
