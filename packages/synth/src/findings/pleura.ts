import type { Rng } from '@multichexnet/core';
import { centroid } from '../geometry';
import {
  addScaled,
  blurField,
  createField,
  fillPolygon,
  fullRect,
  smoothstep,
  strokePolyline,
  type Field,
  type Point,
} from '../raster';
import { lungFraction, toFinding, type DrawnFinding, type Lung, type Scene } from '../scene';
import { severityOf, type FindingPainter } from './finding';

/*
 * Pleural findings: effusion (fluid filling the costophrenic recess with a meniscus rising along the lateral
 * wall), pneumothorax (air between the lung and the chest wall: a lung-edge region without markings, bounded
 * by a thin bright visceral pleural line; the SIIM mask is exactly that region) and pleural thickening
 * (a smooth lenticular band along the lateral wall or an apical cap).
 */

/** Effusion: one side (a quarter of cases both); fluid level and meniscus scale with severity. */
export const paintEffusion: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const sides = rng.bernoulli(0.25) ? scene.lungs : [rng.pick(scene.lungs)];
    const { frame, size } = scene;
    const region = createField(size, size);
    for (const lung of sides) {
      let cpY = 0;
      for (let x = lung.rect.x0; x < lung.rect.x1; x++) cpY = Math.max(cpY, lung.bottom[x] as number);
      // Cover the lung's soft edge too, so the fluid has no straight vertical border.
      const pad = Math.ceil(frame.len(0.03));
      const x0 = Math.max(0, lung.rect.x0 - pad);
      const x1 = Math.min(size, lung.rect.x1 + pad);
      // The fluid fills the recess from its lowest point; small effusions only blunt the angle.
      const level = cpY - frame.len(0.02 + 0.12 * sev * rng.uniform(0.7, 1.2));
      const rise = frame.len(rng.uniform(0.03, 0.07) * (0.6 + sev));
      const edge = frame.len(0.006);
      for (let y = lung.rect.y0; y < size; y++) {
        for (let x = x0; x < x1; x++) {
          const lat = Math.min(1, Math.max(0, lungFraction(lung, x, y).fl));
          const top = level - rise * lat * lat;
          const v = smoothstep(top - edge, top + edge, y);
          const i = y * size + x;
          // Fluid takes the place of aerated lung, so it has exactly the weight the air had (soft lung edge,
          // almost none behind the heart).
          const air = (scene.lungSoft.data[i] as number) * (1 - 0.93 * (scene.central.data[i] as number));
          const sideWeight =
            lung.sign < 0
              ? x < (scene.lungs[1].rect.x0 + lung.rect.x1) / 2
                ? 1
                : 0
              : x >= (scene.lungs[0].rect.x1 + lung.rect.x0) / 2
                ? 1
                : 0;
          region.data[i] = Math.max(region.data[i] as number, v * air * sideWeight);
        }
      }
    }
    addScaled(scene.density, region, 0.55 + 0.2 * sev, fullRect(region), undefined, false);
    const mask = createField(size, size);
    for (let i = 0; i < mask.data.length; i++)
      mask.data[i] = (region.data[i] as number) * (scene.lungHard.data[i] as number);
    const d = toFinding('Effusion', mask, 0.5);
    return d ? [d] : [];
  },
});

/**
 * The lung outline pulled towards the hilum where it faces `dir` (a unit vector), by up to `depth` of its
 * distance: the collapsed lung of a pneumothorax whose air collects on that side.
 */
function collapsedOutline(
  lung: Lung,
  dir: Point,
  depth: number,
  power: number,
): { outline: Point[]; weights: number[] } {
  const c = centroid(lung.outline);
  const weights: number[] = [];
  const outline = lung.outline.map((p) => {
    const dx = p.x - c.x;
    const dy = p.y - c.y;
    const n = Math.hypot(dx, dy) || 1;
    const w = Math.pow(Math.max(0, (dx * dir.x + dy * dir.y) / n), power);
    weights.push(w);
    const k = 1 - depth * w;
    return { x: lung.hilum.x + (p.x - lung.hilum.x) * k, y: lung.hilum.y + (p.y - lung.hilum.y) * k };
  });
  return { outline, weights };
}

/** One pneumothorax region in `lung`: returns its 0/1 field and draws air, the pleural line and no markings. */
function pneumothoraxRegion(scene: Scene, lung: Lung, rng: Rng, sev: number, apical: boolean): Field {
  const { size, frame } = scene;
  // Air rises: on an erect film it collects apically and laterally.
  const angle = apical ? rng.uniform(-1.45, -0.9) : rng.uniform(-0.9, -0.1);
  const dir = { x: lung.sign * Math.cos(angle), y: Math.sin(angle) };
  let region = createField(size, size);
  let collapsed: { outline: Point[]; weights: number[] } = { outline: [], weights: [] };
  for (let attempt = 0; attempt < 4; attempt++) {
    const depth = Math.min(0.6, (0.12 + 0.3 * sev) * (1 + attempt * 0.3));
    collapsed = collapsedOutline(lung, dir, depth, rng.uniform(1.2, 2.2));
    const inner = createField(size, size);
    fillPolygon(inner, collapsed.outline, 1);
    region = createField(size, size);
    let area = 0;
    for (let i = 0; i < region.data.length; i++) {
      const v = (lung.hard.data[i] as number) * (1 - (inner.data[i] as number));
      region.data[i] = v;
      area += v;
    }
    if (area >= size * size * 0.004) break;
  }
  const soft = { width: size, height: size, data: region.data.slice() };
  blurField(soft, frame.len(0.003), 2);
  for (let i = 0; i < soft.data.length; i++) {
    scene.markings.data[i] = (scene.markings.data[i] as number) * (1 - (soft.data[i] as number));
    // Free pleural air is blacker than aerated lung: no parenchyma in the way.
    scene.density.data[i] = (scene.density.data[i] as number) - 0.13 * (soft.data[i] as number);
  }
  // The visceral pleural line: a thin bright edge of the collapsed lung, only where it moved.
  // Start the walk where the outline did not move, so the moved stretch is not split at index 0.
  const n = collapsed.outline.length;
  let start = 0;
  for (let k = 1; k < n; k++) if ((collapsed.weights[k] as number) < (collapsed.weights[start] as number)) start = k;
  const line: Point[] = [];
  let best: Point[] = [];
  for (let j = 0; j < n; j++) {
    const k = (start + j) % n;
    const p = collapsed.outline[k] as Point;
    if ((collapsed.weights[k] as number) > 0.12) {
      line.push(p);
    } else if (line.length > 0) {
      if (line.length > best.length) best = line.slice();
      line.length = 0;
    }
  }
  if (line.length > best.length) best = line.slice();
  if (best.length > 1) {
    const rect = strokePolyline(scene.scratch, best, frame.len(0.0024), 'flat');
    addScaled(scene.density, scene.scratch, 0.16, rect, lung.hard);
  }
  return region;
}

/**
 * Pneumothorax: `count` instances (SIIM rows). The first is the main apical-lateral region; a second is the
 * other lung (bilateral) or a lateral/basal extension on the same side that overlaps the first, as several
 * annotations of one pneumothorax do in SIIM.
 */
export const paintPneumothorax: FindingPainter = (rng, opts) => ({
  prepare(scene) {
    const sev = severityOf(rng, opts);
    const n = opts.count ?? 1;
    const first = rng.pick(scene.lungs);
    const out: DrawnFinding[] = [];
    for (let k = 0; k < n; k++) {
      const lung = k === 0 ? first : rng.bernoulli(0.5) ? (scene.lungs.find((l) => l !== first) as Lung) : first;
      const region = pneumothoraxRegion(
        scene,
        lung,
        rng,
        k === 0 ? sev : sev * rng.uniform(0.5, 0.9),
        k === 0 || lung !== first,
      );
      const d = toFinding('Pneumothorax', region, 0.5);
      if (d) out.push(d);
    }
    return out;
  },
});

/** Pleural thickening: a lenticular band along the lateral wall, or an apical cap. */
export const paintPleuralThickening: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const lung = rng.pick(scene.lungs);
    const apical = rng.bernoulli(0.3);
    const y0 = rng.uniform(0.2, 0.5);
    const y1 = y0 + rng.uniform(0.2, 0.35);
    const pts = lung.outline.filter((p) => {
      const f = lungFraction(lung, p.x, p.y);
      return apical ? f.fy < 0.14 && f.fl > 0.2 : f.fl > 0.8 && f.fy > y0 && f.fy < y1;
    });
    if (pts.length < 2) return [];
    // Outline points run around the lung; sort along the band so the stroke does not jump.
    pts.sort((a, b) => (apical ? a.x - b.x : a.y - b.y));
    const thick = scene.frame.len(rng.uniform(0.018, 0.03) * (0.8 + 0.4 * sev));
    const widths = pts.map((_, k) => thick * Math.sin((Math.PI * (k + 0.5)) / pts.length));
    const band = createField(scene.size, scene.size);
    strokePolyline(band, pts, widths, 'flat');
    for (let i = 0; i < band.data.length; i++) band.data[i] = (band.data[i] as number) * (lung.hard.data[i] as number);
    addScaled(scene.density, band, 0.5, fullRect(band), undefined, false);
    const d = toFinding('Pleural_Thickening', band, 0.5);
    return d ? [d] : [];
  },
});
