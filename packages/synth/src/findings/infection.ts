import type { Rng } from '@multichexnet/core';
import { ridgeNoise } from '../noise';
import { addEllipse, addScaled, fullRect, strokePolyline, type Field } from '../raster';
import { sampleInLung, toFinding, type DrawnFinding, type Lung, type LungZone, type Scene } from '../scene';
import { addAirBronchograms, applyPatch, makePatch, unionField } from './patches';
import { lobarField } from './opacity';
import { severityOf, type FindingPainter } from './finding';

/*
 * Infection patterns of the COVID-19 image collection. COVID-19: bilateral, peripheral, lower-zone
 * ground-glass opacities (faint enough that vessels still show through), sometimes with a denser patch.
 * The other pneumonias overlap with it on purpose, so COVID vs non-COVID is learnable but not trivial:
 * bacterial = unilateral dense lobar consolidation with air bronchograms; other viral = bilateral but
 * central / perihilar interstitial haze (a third peripheral, upper and mid zones); fungal = diffuse perihilar
 * haze with a few nodules; tuberculosis = upper-zone consolidation with a cavity.
 */

function ggoPatches(
  scene: Scene,
  lung: Lung,
  zone: LungZone,
  count: number,
  amp: number,
  rng: Rng,
  sizeRange: [number, number],
): Field[] {
  const out: Field[] = [];
  for (let k = 0; k < count; k++) {
    const center = sampleInLung(lung, zone, scene.frame.len(0.02), rng);
    const sx = scene.frame.len(rng.uniform(sizeRange[0], sizeRange[1]));
    const p = makePatch(
      scene,
      lung,
      { center, sx, sy: sx * rng.uniform(1, 1.6), lobules: rng.int(3, 6), fluff: 0.7 },
      rng,
    );
    applyPatch(scene, p, amp * rng.uniform(0.8, 1.2));
    out.push(p.field);
  }
  return out;
}

function single(kind: string, scene: Scene, fields: Field[]): DrawnFinding[] {
  const d = toFinding(kind, unionField(scene, fields), 0.3);
  return d ? [d] : [];
}

/** COVID-19: bilateral (85 %) peripheral lower-zone ground glass; a third with a denser component. */
export const paintCovid19: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const lungs = rng.bernoulli(0.85) ? scene.lungs : [rng.pick(scene.lungs)];
    const fields: Field[] = [];
    for (const lung of lungs) {
      const zone: LungZone = { fy: [0.45 - 0.2 * sev, 0.95], fl: [0.6, 0.97] };
      fields.push(
        ...ggoPatches(scene, lung, zone, rng.int(2, 4 + Math.round(2 * sev)), 0.12 + 0.14 * sev, rng, [0.03, 0.055]),
      );
    }
    if (rng.bernoulli(0.33)) {
      const lung = rng.pick(lungs);
      fields.push(
        ...ggoPatches(scene, lung, { fy: [0.6, 0.92], fl: [0.65, 0.95] }, 1, 0.22 + 0.15 * sev, rng, [0.025, 0.04]),
      );
    }
    return single('Covid19', scene, fields);
  },
});

/** Other viral pneumonia: bilateral central / perihilar interstitial haze, sometimes peripheral upper zones. */
export const paintViralPneumonia: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const peripheral = rng.bernoulli(0.33);
    const zone: LungZone = peripheral ? { fy: [0.1, 0.6], fl: [0.55, 0.95] } : { fy: [0.3, 0.75], fl: [0.1, 0.5] };
    const fields: Field[] = [];
    for (const lung of scene.lungs)
      fields.push(...ggoPatches(scene, lung, zone, rng.int(2, 4), 0.12 + 0.13 * sev, rng, [0.035, 0.06]));
    const net = ridgeNoise(scene.size, scene.size, scene.frame.len(0.04), rng, 0.06);
    const union = unionField(scene, fields);
    for (let i = 0; i < net.data.length; i++) net.data[i] = (net.data[i] as number) * (union.data[i] as number);
    addScaled(scene.density, net, 0.08, fullRect(net), undefined, false);
    return single('ViralPneumonia', scene, fields);
  },
});

/** Bacterial pneumonia: unilateral dense lobar consolidation with air bronchograms. */
export const paintBacterialPneumonia: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const lung = rng.pick(scene.lungs);
    const f = lobarField(scene, lung, rng.pick(['upper', 'lower', 'lower'] as const), rng);
    applyPatch(scene, { field: f, lung }, 0.45 + 0.25 * sev);
    addAirBronchograms(scene, f, lung, rng, 0.13);
    return single('BacterialPneumonia', scene, [f]);
  },
});

/** Fungal pneumonia: diffuse bilateral perihilar haze and a few small nodules. */
export const paintFungalPneumonia: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const fields: Field[] = [];
    for (const lung of scene.lungs) {
      fields.push(
        ...ggoPatches(
          scene,
          lung,
          { fy: [0.2, 0.7], fl: [0.05, 0.45] },
          rng.int(2, 4),
          0.12 + 0.1 * sev,
          rng,
          [0.05, 0.08],
        ),
      );
      const nodules = rng.int(0, 3);
      for (let k = 0; k < nodules; k++) {
        const c = sampleInLung(lung, { fy: [0.1, 0.8], fl: [0.3, 0.9] }, scene.frame.len(0.02), rng);
        const r = scene.frame.len(rng.uniform(0.01, 0.018));
        addEllipse(scene.density, c.x, c.y, r, r, 0, 0.3, 0.5);
      }
    }
    return single('FungalPneumonia', scene, fields);
  },
});

/** Tuberculosis: upper-zone consolidation with a thick-walled cavity and fibrotic strands. */
export const paintTuberculosis: FindingPainter = (rng, opts) => ({
  draw(scene) {
    const sev = severityOf(rng, opts);
    const lung = rng.pick(scene.lungs);
    const f = lobarField(scene, lung, 'upper', rng);
    applyPatch(scene, { field: f, lung }, 0.35 + 0.2 * sev);
    const { frame } = scene;
    const c = sampleInLung(lung, { fy: [0.08, 0.3], fl: [0.3, 0.75] }, frame.len(0.03), rng);
    const r = frame.len(rng.uniform(0.018, 0.03));
    addEllipse(scene.density, c.x, c.y, r, r * 0.9, 0, -0.3, 0.4);
    for (let k = 0; k < 3; k++) {
      const end = {
        x: lung.hilum.x + rng.normal(0, frame.len(0.02)),
        y: lung.hilum.y - frame.len(rng.uniform(0, 0.03)),
      };
      strokePolyline(scene.scratch, [c, end], frame.len(0.0025), 'soft');
    }
    addScaled(scene.density, scene.scratch, 0.12, fullRect(scene.scratch), lung.hard);
    return single('Tuberculosis', scene, [f]);
  },
});
