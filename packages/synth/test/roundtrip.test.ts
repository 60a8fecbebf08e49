import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHESTXRAY14_CLASSES, createRng } from '@multichexnet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openCovid,
  openNih,
  openRsna,
  openSiim,
  PATHOLOGIES,
  pathologyIndex,
  type Dataset,
  type Sample,
} from '@multichexnet/data';
import { SynthConfigSchema, type SynthConfig } from '../src/config';
import { planNih, type NihImagePlan } from '../src/nih-writer';
import { renderFilm, type RenderedFilm, type RenderRequest } from '../src/render';
import { planRsnaImage } from '../src/rsna-writer';
import { planSiimImage } from '../src/siim-writer';
import { synthesize, type SynthResult } from '../src/synthesize';

/*
 * Acceptance of issue #4: a few hundred synthetic images, written in the real formats, load through the four
 * real-data loaders with the labels, boxes and masks that were drawn, both with labels in the images' own pixels
 * (the default; the loaders learn that space from the folder's synth.json) and in the real datasets' 1024 px space
 * (a downsampled copy of the real layout: 128 px images, 1024 px label files).
 */

const SIZE = 128;
const COUNTS = { nih: 120, rsna: 70, siim: 60, covid: 50 };
/** The labels of the NIH BBox_List: the first eight ChestX-ray14 classes, Atelectasis to Pneumothorax. */
const BOXED_CLASSES: readonly string[] = CHESTXRAY14_CLASSES.slice(0, 8);

async function all(ds: Dataset): Promise<Sample[]> {
  const out = [];
  for (let i = 0; i < ds.size; i++) out.push(await ds.get(i));
  return out;
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}

/**
 * Every sample of `ds` (which must hold `count`) with its plan, found by `id` among the `count` images `plan` makes
 * from `cfg`, and the film that plan renders.
 */
async function withPlans<P extends { request: RenderRequest; filmSeed: number }>(
  ds: Dataset,
  cfg: SynthConfig,
  count: number,
  plan: (cfg: SynthConfig, i: number) => P,
  id: (p: P) => string,
): Promise<{ s: Sample; p: P; film: RenderedFilm }[]> {
  expect(ds.size).toBe(count);
  const plans = new Map<string, P>();
  for (let i = 0; i < count; i++) {
    const p = plan(cfg, i);
    plans.set(id(p), p);
  }
  return (await all(ds)).map((s) => {
    const p = plans.get(s.id) as P;
    return { s, p, film: renderFilm(p.request, createRng(p.filmSeed)) };
  });
}

describe.each(['image', 'original'] as const)(
  'synthetic data through the real loaders (annotations in %s space)',
  (space) => {
    let root = '';
    let cfg: SynthConfig;
    let result: SynthResult;
    let seconds = 0;

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'synth-roundtrip-'));
      const t0 = performance.now();
      result = await synthesize({ out: root, counts: COUNTS, size: SIZE, seed: 2024, annotationSpace: space });
      seconds = (performance.now() - t0) / 1000;
      cfg = SynthConfigSchema.parse({ out: root, counts: COUNTS, size: SIZE, seed: 2024, annotationSpace: space });
    });

    afterAll(() => {
      if (root !== '') rmSync(root, { recursive: true, force: true });
    });

    it(`generates ${COUNTS.nih + COUNTS.rsna + COUNTS.siim + COUNTS.covid} images in under a minute`, () => {
      expect(result.nih.images + result.rsna.images + result.siim.images + result.covid.images).toBe(300);
      expect(seconds).toBeLessThan(60);
    });

    it('NIH: every image loads with its drawn labels, official split, pixels and boxes', async () => {
      const ds = await openNih({ root: result.paths.nih });
      expect(ds.size).toBe(COUNTS.nih);
      expect(ds.missing).toBe(0);
      const plan = planNih(cfg);
      const byName = new Map<string, NihImagePlan>(plan.images.map((p) => [p.name, p]));
      let boxes = 0;
      for (const s of await all(ds)) {
        const p = byName.get(s.id) as NihImagePlan;
        expect(p).toBeDefined();
        expect(s.patientId).toBe(String(p.patientId));
        for (const c of CHESTXRAY14_CLASSES)
          expect(s.labels[pathologyIndex(c)], `${s.id} ${c}`).toBe(p.labels.includes(c) ? 1 : 0);
        expect(Number.isNaN(s.labels[pathologyIndex('COVID-19')])).toBe(true);
        expect(s.meta.officialSplit).toBe(plan.testPatients.has(p.patientId) ? 'test' : 'trainval');
        const film = renderFilm(p.request, createRng(p.filmSeed));
        expect([s.image.width, s.image.height]).toEqual([SIZE, SIZE]);
        expect(Buffer.from(s.image.data as Uint8Array).equals(Buffer.from(film.pixels))).toBe(true);
        if (!p.boxed) continue;
        const drawn = film.findings.filter((f) => BOXED_CLASSES.includes(f.kind)).slice(0, 4);
        expect(s.boxes?.length ?? 0).toBe(drawn.length);
        (s.boxes ?? []).forEach((b, k) => {
          const d = drawn[k] as (typeof drawn)[number];
          expect(b.label).toBe(d.kind);
          expect(b.x).toBeCloseTo(d.box.x, 6);
          expect(b.y).toBeCloseTo(d.box.y, 6);
          expect(b.width).toBeCloseTo(d.box.width, 6);
          expect(b.height).toBeCloseTo(d.box.height, 6);
          boxes++;
        });
      }
      expect(boxes).toBeGreaterThan(0);
    });

    it('RSNA: every patient loads with Target, class, the drawn opacity boxes and the drawn pixels (JPEG)', async () => {
      const ds = await openRsna({ root: result.paths.rsna });
      const loaded = await withPlans(ds, cfg, COUNTS.rsna, planRsnaImage, (p) => p.patientId);
      let positives = 0;
      for (const { s, p, film } of loaded) {
        const opacities = film.findings.filter((f) => f.kind === 'Pneumonia');
        const target = p.positive && opacities.length > 0 ? 1 : 0;
        expect(s.labels[pathologyIndex('Pneumonia')]).toBe(target);
        expect(s.meta.rsnaClass).toBe(
          target === 1 ? 'Lung Opacity' : p.positive ? 'No Lung Opacity / Not Normal' : p.cls,
        );
        expect(s.meta.viewPosition).toBe(p.view);
        expect(meanAbsDiff(s.image.data, film.pixels)).toBeLessThan(3);
        expect(s.boxes?.length ?? 0).toBe(target === 1 ? opacities.length : 0);
        (s.boxes ?? []).forEach((b, k) => {
          const d = (opacities[k] as (typeof opacities)[number]).box;
          expect([b.x, b.y, b.width, b.height]).toEqual([d.x, d.y, d.width, d.height]);
        });
        positives += target;
      }
      expect(positives).toBeGreaterThan(5);
    });

    it('SIIM: every image loads with its pneumothorax label and exactly the drawn mask (OR of the instances)', async () => {
      const ds = await openSiim({ root: result.paths.siim });
      const loaded = await withPlans(ds, cfg, COUNTS.siim, planSiimImage, (p) => p.uids.sop);
      let positives = 0;
      for (const { s, p, film } of loaded) {
        const drawn = film.findings.filter((f) => f.kind === 'Pneumothorax');
        const union = new Uint8Array(SIZE * SIZE);
        for (const d of drawn)
          for (let i = 0; i < union.length; i++) union[i] = (union[i] as number) | (d.mask.data[i] as number);
        expect(s.labels[pathologyIndex('Pneumothorax')]).toBe(drawn.length > 0 ? 1 : 0);
        expect([s.mask?.width, s.mask?.height]).toEqual([SIZE, SIZE]);
        expect(Buffer.from(s.mask?.data ?? new Uint8Array()).equals(Buffer.from(union))).toBe(true);
        expect(meanAbsDiff(s.image.data, film.pixels)).toBeLessThan(3);
        if (drawn.length > 0) positives++;
      }
      expect(positives).toBeGreaterThan(5);
    });

    it('COVID-19: frontal X-ray rows load with COVID-19 / pneumonia labels; laterals and CT volumes are left out', async () => {
      const ds = await openCovid({ root: result.paths.covid });
      expect(ds.missing).toBe(0);
      expect(ds.size).toBeGreaterThan(COUNTS.covid * 0.8);
      expect(ds.size).toBeLessThanOrEqual(COUNTS.covid);
      const withL = await openCovid({ root: result.paths.covid, views: ['PA', 'AP', 'AP Supine', 'L'] });
      expect(withL.size).toBe(COUNTS.covid);
      let covid = 0;
      let other = 0;
      for (const s of await all(withL)) {
        const finding = (s.meta.finding ?? []).join('/');
        const isCovid = finding === 'Pneumonia/Viral/COVID-19';
        expect(s.labels[PATHOLOGIES.indexOf('COVID-19')]).toBe(isCovid ? 1 : 0);
        expect(['PA', 'AP', 'AP Supine', 'L']).toContain(s.meta.viewPosition);
        expect([s.image.width, s.image.height]).toEqual([SIZE, SIZE]);
        if (isCovid) covid++;
        else other++;
      }
      expect(covid).toBeGreaterThan(0);
      expect(other).toBeGreaterThan(0);
    });
  },
);
