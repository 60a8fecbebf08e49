import type { Rng } from '@multichexnet/core';
import { closedSpline, ellipsePoints, openSpline } from './geometry';
import { valueNoise } from './noise';
import {
  addEllipse,
  addGaussian,
  addScaled,
  blurField,
  createField,
  fillPolygon,
  fullRect,
  smoothstep,
  strokePolyline,
  type Field,
  type Point,
} from './raster';
import type { Scene } from './scene';

/*
 * The normal chest: body and soft tissue, abdomen below the diaphragm, the two lungs (air), heart and
 * mediastinum, trachea, spine, ribs, clavicles, scapulae, humeral heads, hila and the vascular lung markings.
 * Everything adds to (or subtracts from) the scene's density field; the tone curve comes later.
 */

/** Draws the normal anatomy into `scene.density`. Findings that change air or markings run before this. */
export function drawBaseAnatomy(scene: Scene, rng: Rng): void {
  drawBody(scene, rng);
  drawLungsAndMediastinum(scene, rng);
  drawSpine(scene);
  drawRibs(scene, rng);
  drawShoulderGirdle(scene, rng);
  drawVessels(scene, rng);
  if (scene.anatomy.breast > 0) drawBreasts(scene);
}

function drawBody(scene: Scene, rng: Rng): void {
  const { frame, anatomy: a, size, pose } = scene;
  const half = a.bodyHalf;
  const top = a.lungTop;
  const side = (s: -1 | 1): Array<[number, number]> =>
    [
      [0.085, -0.06],
      [0.1, top - 0.075],
      [half - 0.04, top - 0.045],
      [half - 0.005, top + 0.04],
      [half, 0.5],
      [half - 0.012, 0.85],
      [half - 0.03, 1.12],
    ].map(([o, v]) => [a.mid + s * (o as number), v as number]) as Array<[number, number]>;
  const left = side(-1);
  const right = side(1).reverse();
  const outline = closedSpline(
    [...left, ...right].map(([u, v]) => frame.toPx(u, v)),
    6,
  );
  const body = createField(size, size);
  fillPolygon(body, outline, 1);
  if (pose.arms) {
    for (const s of [-1, 1] as const) {
      const arm = [
        frame.toPx(a.mid + s * (half - 0.03), top - 0.06),
        frame.toPx(a.mid + s * (half + 0.1), top - 0.02),
        frame.toPx(a.mid + s * (half + 0.13), 0.75),
        frame.toPx(a.mid + s * (half + 0.02), 0.72),
      ];
      fillPolygon(body, closedSpline(arm, 4), 0.85);
    }
  }
  blurField(body, frame.len(0.01));
  // Thicker in the middle of the trunk than at the flanks.
  const midPx = frame.toPx(a.mid, 0.5).x;
  const halfPx = frame.len(half);
  // Diaphragm line per column: from the lung bottoms, interpolated under the heart, held flat outside.
  const diaph = diaphragmLine(scene);
  // The liver and spleen are denser than the flanks only between the lateral lung walls.
  const cage = new Float32Array(size);
  const fade = frame.len(0.03);
  const xl = scene.lungs[0].rect.x0;
  const xr = scene.lungs[1].rect.x1;
  for (let x = 0; x < size; x++)
    cage[x] = smoothstep(xl - fade, xl + fade, x) * (1 - smoothstep(xr - fade, xr + fade, x));
  const d = scene.density.data;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const b = body.data[i] as number;
      if (b <= 0) continue;
      const r = (x + 0.5 - midPx) / halfPx;
      const thick = 0.58 + 0.42 * Math.max(0, 1 - r * r);
      const abdomen =
        (cage[x] as number) *
        smoothstep((diaph[x] as number) - frame.len(0.01), (diaph[x] as number) + frame.len(0.03), y);
      scene.abdomen.data[i] = abdomen * b;
      d[i] = (d[i] as number) + a.tissue * b * (thick + 0.28 * abdomen);
    }
  }
  // Gastric air bubble under the left hemidiaphragm (image-right), present on most erect films.
  if (rng.bernoulli(0.75)) {
    const dome = a.domeL + pose.inspiration;
    const g = frame.toPx(a.mid + rng.uniform(0.1, 0.17), dome + rng.uniform(0.05, 0.08));
    addEllipse(
      scene.density,
      g.x,
      g.y,
      frame.len(rng.uniform(0.03, 0.05)),
      frame.len(rng.uniform(0.02, 0.03)),
      0,
      -0.35,
      0.5,
    );
  }
  // Shoulder muscles over the apices.
  for (const s of [-1, 1]) {
    const p = frame.toPx(a.mid + s * 0.22, top - 0.02);
    addGaussian(scene.density, p.x, p.y, frame.len(0.1), frame.len(0.04), 0.18);
  }
}

/** Image row of the diaphragm per column (lung bottoms, linearly bridged between the lungs). */
export function diaphragmLine(scene: Scene): Float32Array {
  const { size } = scene;
  const out = new Float32Array(size).fill(-1);
  for (const l of scene.lungs)
    for (let x = 0; x < size; x++) if ((l.bottom[x] as number) > (out[x] as number)) out[x] = l.bottom[x] as number;
  let first = -1;
  let last = -1;
  for (let x = 0; x < size; x++)
    if ((out[x] as number) >= 0) {
      if (first < 0) first = x;
      last = x;
    }
  if (first < 0) return out.fill(size * 0.7);
  for (let x = 0; x < first; x++) out[x] = out[first] as number;
  for (let x = last + 1; x < size; x++) out[x] = out[last] as number;
  let prev = first;
  for (let x = first + 1; x <= last; x++) {
    if ((out[x] as number) >= 0) {
      for (let k = prev + 1; k < x; k++) {
        const t = (k - prev) / (x - prev);
        out[k] = (out[prev] as number) * (1 - t) + (out[x] as number) * t;
      }
      prev = x;
    }
  }
  return out;
}

function drawLungsAndMediastinum(scene: Scene, rng: Rng): void {
  const { frame, anatomy: a, size, density } = scene;
  const d = density.data;
  const tex = valueNoise(size, size, size / 22, rng, 3, 0.55);
  const air = 0.78 * a.air * scene.airScale;
  const bulk = { width: size, height: size, data: scene.heartHard.data.slice() };
  blurField(bulk, frame.len(0.035), 2);
  for (let i = 0; i < d.length; i++) {
    const lung = scene.lungSoft.data[i] as number;
    const c = scene.central.data[i] as number;
    const m = scene.markings.data[i] as number;
    // The widely blurred copy makes the heart thicker in its middle than at its borders (a rounded organ).
    d[i] =
      (d[i] as number) -
      air * lung * (1 - 0.93 * c) +
      0.09 * m * (tex.data[i] as number) +
      (0.36 * c + 0.2 * c * (bulk.data[i] as number)) * a.tissue;
  }
  // Trachea and main bronchi: air columns over the bright mediastinum.
  const carina = frame.toPx(a.mid + 0.004, a.lungTop + 0.16);
  const trachea = [frame.toPx(a.mid - 0.004, -0.05), frame.toPx(a.mid, a.lungTop + 0.05), carina];
  let rect = strokePolyline(scene.scratch, trachea, frame.len(0.014), 'flat');
  addScaled(density, scene.scratch, -0.26, rect);
  for (const l of scene.lungs) {
    const bronchus = openSpline(
      [carina, { x: (carina.x + l.hilum.x) / 2, y: carina.y + frame.len(0.025) }, l.hilum],
      4,
    );
    rect = strokePolyline(scene.scratch, bronchus, frame.len(0.009), 'flat');
    addScaled(density, scene.scratch, -0.16, rect);
    addGaussian(density, l.hilum.x, l.hilum.y, frame.len(0.022), frame.len(0.04), 0.2);
  }
}

function drawSpine(scene: Scene): void {
  const { frame, anatomy: a, density } = scene;
  const band = [frame.toPx(a.mid, -0.05), frame.toPx(a.mid, 1.05)];
  const rect = strokePolyline(scene.scratch, band, frame.len(0.033), 'bone');
  const weight = createField(scene.size, scene.size);
  for (let i = 0; i < weight.data.length; i++)
    weight.data[i] = Math.max(0, 1 - 0.6 * (scene.abdomen.data[i] as number) - 0.6 * (scene.central.data[i] as number));
  addScaled(density, scene.scratch, 0.16, rect, weight);
  const step = a.ribSpacing * 0.98;
  for (let v = a.lungTop - 0.06; v < 1.02; v += step) {
    for (const s of [-1, 1]) {
      const p = frame.toPx(a.mid + s * 0.022, v + step * 0.3);
      addEllipse(density, p.x, p.y, frame.len(0.008), frame.len(0.012), 0, 0.04, 0.5);
    }
    const disc = [frame.toPx(a.mid - 0.03, v), frame.toPx(a.mid + 0.03, v)];
    const r = strokePolyline(scene.scratch, disc, frame.len(0.004), 'soft');
    addScaled(density, scene.scratch, -0.07, r);
  }
}

/** Half width of the thoracic cage at height v (normalised offset from the midline). */
function cageHalf(scene: Scene, v: number): number {
  const a = scene.anatomy;
  const t = Math.min(1, Math.max(0, (v - a.lungTop + 0.01) / 0.24));
  return Math.max(0.11, a.lungHalfWidth * Math.sqrt(t)) + 0.012;
}

function drawRibs(scene: Scene, rng: Rng): void {
  const { frame, anatomy: a, density, pose } = scene;
  const maxV = Math.max(a.domeR, a.domeL) + pose.inspiration + 0.06;
  const hw = frame.len(a.ribHalf);
  // Ribs over the upper abdomen are washed out by the liver and spleen.
  const ribWeight = createField(scene.size, scene.size);
  for (let i = 0; i < ribWeight.data.length; i++) {
    ribWeight.data[i] = Math.max(
      0,
      1 - 0.8 * (scene.abdomen.data[i] as number) - 0.5 * (scene.central.data[i] as number),
    );
  }
  for (let i = 0; i < 12; i++) {
    const v0 = a.lungTop - 0.035 + i * a.ribSpacing + rng.normal(0, 0.002);
    if (v0 > maxV) break;
    for (const s of [-1, 1] as const) {
      const L = cageHalf(scene, v0 + 0.07) + 0.01;
      const at = (o: number, v: number): Point => frame.toPx(a.mid + s * o, v);
      const posterior = openSpline(
        [
          at(0.034, v0 + 0.015),
          at(0.09, v0 - 0.008),
          at(0.35 * L, v0 - 0.012),
          at(0.65 * L, v0 + 0.018),
          at(0.88 * L, v0 + 0.078),
          at(L, v0 + 0.165),
        ],
        6,
      );
      const widths = posterior.map((_, k) => hw * (0.85 + 0.3 * (k / posterior.length)));
      let rect = strokePolyline(scene.scratch, posterior, widths, 'bone');
      addScaled(density, scene.scratch, 0.1 * rng.uniform(0.85, 1.1), rect, ribWeight);
      if (i >= 1) {
        const anterior = openSpline(
          [at(0.97 * L, v0 + 0.2), at(0.88 * L, v0 + 0.24), at(0.6 * L, v0 + 0.275), at(0.35 * L, v0 + 0.3)],
          6,
        );
        rect = strokePolyline(scene.scratch, anterior, hw * 1.1, 'soft');
        addScaled(density, scene.scratch, 0.055, rect, ribWeight);
      }
    }
  }
}

function drawShoulderGirdle(scene: Scene, rng: Rng): void {
  const { frame, anatomy: a, density, pose } = scene;
  const top = a.lungTop;
  const ap = pose.view !== 'PA';
  for (const s of [-1, 1] as const) {
    const at = (o: number, v: number): Point => frame.toPx(a.mid + s * o, v);
    const lift = ap ? -0.012 : 0;
    const clavicle = openSpline(
      [
        at(0.04, top + 0.065 + lift),
        at(0.12, top + 0.045 + lift),
        at(0.22, top + 0.015 + lift),
        at(0.31, top - 0.008),
        at(0.38, top - 0.045),
      ],
      6,
    );
    const widths = clavicle.map((_, k) => frame.len(0.017 - 0.004 * (k / clavicle.length)));
    const rect = strokePolyline(scene.scratch, clavicle, widths, 'bone');
    addScaled(density, scene.scratch, 0.22, rect);
    const head = at(a.bodyHalf - 0.01, top - 0.01);
    addEllipse(density, head.x, head.y, frame.len(0.05), frame.len(0.055), 0, 0.14, 0.5);
    const scap = ap ? at(a.lungHalfWidth - 0.02, top + 0.17) : at(a.lungHalfWidth + 0.05, top + 0.15);
    addEllipse(
      density,
      scap.x,
      scap.y,
      frame.len(0.06),
      frame.len(0.14),
      frame.angle(s * 0.2),
      rng.uniform(0.07, 0.11),
      0.6,
    );
  }
}

/** Branching vessels from each hilum, confined to the lung markings weight. */
function drawVessels(scene: Scene, rng: Rng): void {
  if (scene.vesselScale <= 0) return;
  const { frame } = scene;
  const scratch = scene.scratch;
  const branch = (p: Point, angle: number, len: number, hw: number, level: number): void => {
    const bend = rng.normal(0, 0.18);
    const mid = { x: p.x + Math.cos(angle) * len * 0.5, y: p.y + Math.sin(angle) * len * 0.5 };
    const end = { x: mid.x + Math.cos(angle + bend) * len * 0.5, y: mid.y + Math.sin(angle + bend) * len * 0.5 };
    strokePolyline(scratch, [p, mid, end], [hw, hw * 0.9, hw * 0.8], 'soft', Math.pow(0.78, level - 1));
    if (level >= scene.vesselDepth) return;
    const spread = rng.uniform(0.3, 0.55);
    const n = rng.bernoulli(0.2) ? 3 : 2;
    for (let k = 0; k < n; k++) {
      const off = n === 2 ? (k === 0 ? -spread : spread) : (k - 1) * spread;
      branch(
        end,
        angle + bend + off + rng.normal(0, 0.1),
        len * rng.uniform(0.62, 0.8),
        Math.max(0.45, hw * 0.7),
        level + 1,
      );
    }
  };
  for (const l of scene.lungs) {
    const offsets = [-1.45, -1.0, -0.55, -0.1, 0.35, 0.8, 1.2];
    for (const o of offsets) {
      const off = o + rng.normal(0, 0.12);
      const angle = l.sign > 0 ? off : Math.PI - off;
      // Lower-zone vessels are longer and thicker on an erect film (gravity-dependent perfusion).
      const lower = off > 0 ? 1.15 : 0.9;
      branch(l.hilum, frame.angle(angle), frame.len(rng.uniform(0.055, 0.075) * lower), frame.len(0.0065 * lower), 1);
    }
  }
  blurField(scratch, frame.len(0.002));
  addScaled(scene.density, scratch, 0.16 * scene.vesselScale, fullRect(scratch), scene.markings);
}

function drawBreasts(scene: Scene): void {
  const { frame, anatomy: a, density, pose } = scene;
  for (const s of [-1, 1]) {
    const dome = (s < 0 ? a.domeR : a.domeL) + pose.inspiration;
    const c = frame.toPx(a.mid + s * 0.21, dome - 0.005);
    const f = createField(scene.size, scene.size);
    fillPolygon(f, ellipsePoints(c.x, c.y, frame.len(0.16), frame.len(0.1), 0), 1);
    blurField(f, frame.len(0.012));
    addScaled(density, f, 0.13 * a.breast, fullRect(f), undefined, false);
  }
}
