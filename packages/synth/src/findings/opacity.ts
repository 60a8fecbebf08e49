import type { Rng } from '@multichexnet/core';
import { addScaled, createField, fullRect, smoothstep, strokePolyline, type Field } from '../raster';
import { sampleInLung, toFinding, type DrawnFinding, type Lung, type Scene } from '../scene';
import { addAirBronchograms, applyPatch, makePatch, unionField } from './patches';
import { severityOf, type FindingPainter } from './finding';

/*
 * Airspace and interstitial opacities of ChestX-ray14: pneumonia (fluffy patches; the RSNA boxes are their
 * bounding boxes), consolidation (dense, homogeneous, lobar with a sharp fissure edge and air bronchograms),
 * infiltration (several small faint ill-defined spots) and edema (bilateral perihilar "bat-wing" haze with
 * Kerley B lines and prominent vessels).
 */

/** Pneumonia: `count` separate patchy opacities (1-4 on RSNA films), spread over both lungs and zones. */
export const paintPneumonia: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const n = opts.count ?? (rng.bernoulli(0.35) ? 2 : 1);
    const first = rng.int(0, 2);
    const out: DrawnFinding[] = [];
    for (let k = 0; k < n; k++) {
      const lung = scene.lungs[(k + first) % 2] as Lung;
      // Two patches in one lung take the upper and the lower half, so instances stay separate.
      const perLung = Math.ceil(n / 2);
      const slot = Math.floor(k / 2);
      const fy: [number, number] = perLung === 1 ? [0.3, 0.9] : slot === 0 ? [0.5, 0.92] : [0.15, 0.45];
      const center = sampleInLung(lung, { fy, fl: [0.2, 0.85] }, scene.frame.len(0.035), rng);
      const sx = scene.frame.len(rng.uniform(0.04, 0.065) * (0.8 + 0.4 * sev));
      const patch = makePatch(
        scene,
        lung,
        { center, sx, sy: sx * rng.uniform(1.1, 1.6), lobules: rng.int(5, 9), fluff: 0.8 },
        rng,
      );
      applyPatch(scene, patch, 0.24 + 0.22 * sev);
      const f = toFinding('Pneumonia', patch.field, 0.3);
      if (f) out.push(f);
    }
    return out;
  },
});

/** A lobar consolidation field for `lung`: a large patch cut by a straight fissure edge. */
export function lobarField(scene: Scene, lung: Lung, lobe: 'upper' | 'middle' | 'lower', rng: Rng): Field {
  const { frame } = scene;
  const { x0, y0, x1, y1 } = lung.rect;
  const fy =
    lobe === 'upper' ? rng.uniform(0.12, 0.3) : lobe === 'middle' ? rng.uniform(0.5, 0.62) : rng.uniform(0.68, 0.85);
  const center = sampleInLung(lung, { fy: [fy - 0.05, fy + 0.05], fl: [0.3, 0.7] }, frame.len(0.04), rng);
  const sx = frame.len(rng.uniform(0.07, 0.1));
  const patch = makePatch(scene, lung, { center, sx, sy: sx * rng.uniform(0.8, 1.1), lobules: 3, fluff: 0.4 }, rng);
  // The fissure: a nearly horizontal line that bounds an upper-lobe consolidation below and a middle- or
  // lower-lobe consolidation above. It gives the sharp straight edge that tells consolidation from pneumonia.
  const fissureY =
    lobe === 'upper' ? center.y + frame.len(rng.uniform(0.03, 0.06)) : center.y - frame.len(rng.uniform(0.02, 0.05));
  const slope = rng.normal(0, 0.08) + (lobe === 'lower' ? -0.15 * lung.sign : 0);
  const edge = frame.len(0.004);
  const cx = (x0 + x1) / 2;
  const f = patch.field;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * f.width + x;
      const v = f.data[i] as number;
      if (v <= 0) continue;
      const line = fissureY + slope * (x - cx);
      const side = lobe === 'upper' ? smoothstep(line + edge, line - edge, y) : smoothstep(line - edge, line + edge, y);
      // Dense and homogeneous: flatten the patch towards 1 inside.
      f.data[i] = side * smoothstep(0.04, 0.6, v);
    }
  }
  return f;
}

/** Consolidation: one dense lobar opacity with a fissure edge and air bronchograms. */
export const paintConsolidation: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const lung = rng.pick(scene.lungs);
    const lobes: Array<'upper' | 'middle' | 'lower'> =
      lung.side === 'R' ? ['upper', 'middle', 'lower'] : ['upper', 'lower'];
    const f = lobarField(scene, lung, rng.pick(lobes), rng);
    applyPatch(scene, { field: f, lung }, 0.5 + 0.25 * sev);
    addAirBronchograms(scene, f, lung, rng, 0.14);
    const d = toFinding('Consolidation', f, 0.5);
    return d ? [d] : [];
  },
});

/** Infiltration: 4-10 small, faint, ill-defined spots in one or two lung zones. */
export const paintInfiltration: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const zones = rng.bernoulli(0.4) ? 2 : 1;
    const fields: Field[] = [];
    for (let z = 0; z < zones; z++) {
      const lung = rng.pick(scene.lungs);
      const fy0 = rng.uniform(0.15, 0.6);
      const spots = rng.int(3, 6);
      for (let k = 0; k < spots; k++) {
        const center = sampleInLung(lung, { fy: [fy0, fy0 + 0.3], fl: [0.25, 0.9] }, scene.frame.len(0.02), rng);
        const sx = scene.frame.len(rng.uniform(0.018, 0.03));
        const p = makePatch(scene, lung, { center, sx, sy: sx * rng.uniform(0.8, 1.3), lobules: 3, fluff: 0.6 }, rng);
        applyPatch(scene, p, 0.1 + 0.1 * sev);
        fields.push(p.field);
      }
    }
    const d = toFinding('Infiltration', unionField(scene, fields), 0.3);
    return d ? [d] : [];
  },
});

/** Edema: bilateral perihilar haze, Kerley B lines at the lateral bases, prominent vessels. */
export const paintEdema: FindingPainter = (rng, opts) => {
  const sev = severityOf(rng, opts);
  return {
    prepare(scene) {
      scene.vesselScale *= 1.35;
      return [];
    },
    draw(scene) {
      const { frame } = scene;
      const fields: Field[] = [];
      for (const lung of scene.lungs) {
        const center = { x: lung.hilum.x + lung.sign * frame.len(0.05), y: lung.hilum.y + frame.len(0.03) };
        const sx = frame.len(rng.uniform(0.085, 0.11));
        const p = makePatch(scene, lung, { center, sx, sy: sx * rng.uniform(1.2, 1.5), lobules: 5, fluff: 0.5 }, rng);
        applyPatch(scene, p, 0.2 + 0.18 * sev);
        fields.push(p.field);
        const lines = rng.int(3, 7);
        for (let k = 0; k < lines; k++) {
          const a = sampleInLung(lung, { fy: [0.68, 0.93], fl: [0.86, 0.97] }, frame.len(0.006), rng);
          const len = frame.len(rng.uniform(0.018, 0.03));
          strokePolyline(
            scene.scratch,
            [a, { x: a.x - lung.sign * len, y: a.y + rng.normal(0, 0.5) }],
            frame.len(0.0022),
            'flat',
          );
        }
      }
      const weight = createField(scene.size, scene.size);
      for (let i = 0; i < weight.data.length; i++) weight.data[i] = scene.lungHard.data[i] as number;
      addScaled(scene.density, scene.scratch, 0.14, fullRect(scene.scratch), weight);
      const d = toFinding('Edema', unionField(scene, fields), 0.3);
      return d ? [d] : [];
    },
  };
};
