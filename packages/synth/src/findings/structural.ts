import { ellipsePoints } from '../geometry';
import { ridgeNoise } from '../noise';
import {
  addEllipse,
  addScaled,
  blurField,
  createField,
  fillPolygon,
  fullRect,
  smoothstep,
  strokePolyline,
  type Point,
} from '../raster';
import { lungFraction, sampleInLung, toFinding, type DrawnFinding, type Lung } from '../scene';
import { severityOf, type FindingPainter } from './finding';

/*
 * Findings that change the shape of the chest: cardiomegaly (cardiothoracic ratio above 0.5-0.55),
 * emphysema (hyperinflated, hyperlucent lungs, low flat diaphragm, narrow heart, pruned vessels, bullae),
 * atelectasis (plate-like bands or a collapsed lobe with volume loss), fibrosis (reticular net in the lower
 * and peripheral zones with volume loss) and hiatal hernia (a retrocardiac mass with gas and a fluid level).
 */

/** Cardiomegaly: the cardiac silhouette enlarged 28-50 %. The box is the heart's. */
export const paintCardiomegaly: FindingPainter = (rng, opts) => ({
  adjust(a) {
    a.heartScale *= 1.26 + 0.22 * severityOf(rng, opts);
  },
  draw(scene) {
    const d = toFinding('Cardiomegaly', scene.heartHard, 0.5);
    return d ? [d] : [];
  },
});

/** Emphysema: hyperinflation and hyperlucency; the mask is both lungs. */
export const paintEmphysema: FindingPainter = (rng, opts) => {
  const sev = severityOf(rng, opts);
  return {
    adjust(a) {
      const drop = 0.045 + 0.04 * sev;
      a.domeR += drop;
      a.domeL += drop * 0.9;
      a.cpDepth *= 0.45;
      a.lungHalfWidth *= 1.03;
      a.heartLeft *= 0.82;
      a.heartRight *= 0.9;
      a.heartHeight *= 1.05;
      a.ribSpacing *= 1.07;
    },
    prepare(scene) {
      scene.airScale *= 1.08 + 0.08 * sev;
      scene.vesselScale *= 0.6;
      scene.vesselDepth = 3;
      return [];
    },
    draw(scene) {
      const bullae = rng.int(0, 3);
      for (let k = 0; k < bullae; k++) {
        const lung = rng.pick(scene.lungs);
        const r = scene.frame.len(rng.uniform(0.025, 0.045));
        const c = sampleInLung(lung, { fy: [0.05, 0.4], fl: [0.3, 0.9] }, r, rng);
        addEllipse(scene.density, c.x, c.y, r, r * 0.9, 0, -0.08, 0.3);
        const ring = ellipsePoints(c.x, c.y, r, r * 0.9, 0, 32);
        ring.push(ring[0] as Point);
        const rect = strokePolyline(scene.scratch, ring, scene.frame.len(0.002), 'flat');
        addScaled(scene.density, scene.scratch, 0.1, rect, scene.lungHard);
      }
      const d = toFinding('Emphysema', scene.lungHard, 0.5);
      return d ? [d] : [];
    },
  };
};

/**
 * Atelectasis: plate-like (discoid) bands in a lower zone, or a collapsed lower lobe: a dense triangle on the
 * diaphragm pointing to the hilum, with the hemidiaphragm pulled up.
 */
export const paintAtelectasis: FindingPainter = (rng, opts) => {
  const sev = severityOf(rng, opts);
  const lobar = rng.bernoulli(0.45);
  const side = rng.int(0, 2);
  return {
    adjust(a) {
      if (!lobar) return;
      if (side === 0) a.domeR -= 0.02 + 0.02 * sev;
      else a.domeL -= 0.02 + 0.02 * sev;
    },
    draw(scene) {
      const lung = scene.lungs[side] as Lung;
      const { frame, size } = scene;
      const f = createField(size, size);
      if (lobar) {
        const { x0, x1, y0, y1 } = lung.rect;
        const w = x1 - x0;
        const at = (fl: number, fy: number): Point => ({
          x: lung.sign < 0 ? x1 - fl * w : x0 + fl * w,
          y: y0 + fy * (y1 - y0),
        });
        const apex = at(rng.uniform(0.05, 0.15), rng.uniform(0.45, 0.55));
        const base = [at(0.02, 1.02), at(rng.uniform(0.35, 0.5) + 0.15 * sev, 1.02)];
        fillPolygon(f, [apex, base[1] as Point, base[0] as Point], 1);
        blurField(f, frame.len(0.003), 2);
      } else {
        const bands = rng.bernoulli(0.3) ? 2 : 1;
        for (let k = 0; k < bands; k++) {
          const c = sampleInLung(lung, { fy: [0.55, 0.88], fl: [0.25, 0.75] }, frame.len(0.04), rng);
          const half = frame.len(rng.uniform(0.04, 0.07));
          const tilt = rng.normal(0, 0.15);
          const a = { x: c.x - half * Math.cos(tilt), y: c.y - half * Math.sin(tilt) };
          const b = { x: c.x + half * Math.cos(tilt), y: c.y + half * Math.sin(tilt) };
          const mid = { x: c.x, y: c.y + frame.len(rng.normal(0, 0.006)) };
          strokePolyline(f, [a, mid, b], [frame.len(0.003), frame.len(0.008 + 0.005 * sev), frame.len(0.003)], 'soft');
        }
      }
      for (let i = 0; i < f.data.length; i++) f.data[i] = (f.data[i] as number) * (lung.hard.data[i] as number);
      addScaled(scene.density, f, lobar ? 0.4 + 0.15 * sev : 0.5, fullRect(f), undefined, false);
      const d = toFinding('Atelectasis', f, lobar ? 0.5 : 0.35);
      return d ? [d] : [];
    },
  };
};

/** Fibrosis: a reticular net in the lower and peripheral zones of both lungs, with volume loss. */
export const paintFibrosis: FindingPainter = (rng, opts) => {
  const sev = severityOf(rng, opts);
  return {
    adjust(a) {
      a.domeR -= 0.015 * sev;
      a.domeL -= 0.015 * sev;
      a.lungHalfWidth *= 0.98;
    },
    draw(scene) {
      const { size, frame } = scene;
      const net = ridgeNoise(size, size, frame.len(0.035), rng, 0.06);
      const zone = createField(size, size);
      const upper = rng.uniform(0.25, 0.5);
      for (const lung of scene.lungs) {
        const { x0, x1, y0, y1 } = lung.rect;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            const i = y * size + x;
            if ((lung.hard.data[i] as number) <= 0) continue;
            const { fy, fl } = lungFraction(lung, x, y);
            zone.data[i] = smoothstep(upper, upper + 0.3, fy) * smoothstep(0.15, 0.55, fl);
          }
        }
      }
      const d = scene.density.data;
      for (let i = 0; i < d.length; i++) {
        const z = zone.data[i] as number;
        if (z > 0) d[i] = (d[i] as number) + z * (0.17 + 0.1 * sev) * (net.data[i] as number) + 0.05 * z;
      }
      const found = toFinding('Fibrosis', zone, 0.4);
      return found ? [found] : [];
    },
  };
};

/** Hiatal hernia: a retrocardiac soft-tissue mass above the diaphragm with gas, a fluid level and bowel-like gas. */
export const paintHernia: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const { frame, anatomy: a, pose, size } = scene;
    const dome = Math.min(a.domeL, a.domeR) + pose.inspiration;
    const c = frame.toPx(a.mid + rng.uniform(0.02, 0.1), dome - rng.uniform(0.05, 0.08));
    const rx = frame.len(rng.uniform(0.06, 0.085) * (0.85 + 0.3 * sev));
    const ry = frame.len(rng.uniform(0.045, 0.06) * (0.85 + 0.3 * sev));
    const hard = createField(size, size);
    fillPolygon(hard, ellipsePoints(c.x, c.y, rx, ry, 0), 1);
    const wall = { width: size, height: size, data: hard.data.slice() };
    blurField(wall, frame.len(0.004), 2);
    addScaled(scene.density, wall, 0.25, fullRect(wall), undefined, false);
    // Gas cap above a flat fluid level, then mottled bowel-like gas below it.
    const level = c.y + ry * rng.uniform(-0.2, 0.2);
    const d = scene.density.data;
    for (let y = Math.max(0, Math.floor(c.y - ry)); y < Math.min(size, Math.ceil(level)); y++) {
      for (let x = Math.max(0, Math.floor(c.x - rx)); x < Math.min(size, Math.ceil(c.x + rx)); x++) {
        const i = y * size + x;
        const inner =
          smoothstep(0.6, 0.95, wall.data[i] as number) * smoothstep(level, level - frame.len(0.003), y + 0.5);
        d[i] = (d[i] as number) - 0.55 * inner;
      }
    }
    const bubbles = rng.int(2, 6);
    for (let k = 0; k < bubbles; k++) {
      const bx = c.x + rng.uniform(-0.6, 0.6) * rx;
      const by = level + rng.uniform(0.15, 0.7) * (c.y + ry - level);
      const r = frame.len(rng.uniform(0.008, 0.015));
      addEllipse(scene.density, bx, by, r, r * rng.uniform(0.7, 1.2), 0, -0.35, 0.5);
    }
    const found = toFinding('Hernia', hard, 0.5);
    return found ? [found] : ([] as DrawnFinding[]);
  },
});
