import { createRng, deriveSeed } from '@multichexnet/core';
import type { Sex } from './anatomy';
import { boxToAnnotation } from './annotation-space';
import type { SynthConfig } from './config';
import { joinLines } from './csv';
import { encodeDicomFilm, type DicomTransferSyntax } from './dicom-writer';
import type { FindingKind } from './findings/painters';
import { filmUids, randomUuid, type FilmUids } from './identifiers';
import type { FileSink, Tick } from './output';
import { fakePhi } from './phi';
import { renderFilm, type FindingSpec, type RenderRequest } from './render';

/*
 * RSNA Pneumonia Detection layout (specs/DATASETS.md §2): stage_2_train_labels.csv (one row per box, boxes as
 * integer-valued floats `264.0`, negatives `,,,,,0`), stage_2_detailed_class_info.csv (row-aligned), and
 * stage_2_train_images/<patientId>.dcm. The boxes are the bounding boxes of the drawn pneumonia opacities,
 * in pixels of the written size (the real files use 1024).
 */

/** Findings that make a film "No Lung Opacity / Not Normal" without a lung opacity. */
const NOT_NORMAL: readonly FindingKind[] = [
  'Cardiomegaly',
  'Effusion',
  'Emphysema',
  'Pleural_Thickening',
  'Hernia',
  'Nodule',
  'Fibrosis',
  'Pneumothorax',
];

/** Boxes per positive patient: 1-4, two the most common as in the real set. */
const BOX_COUNTS: ReadonlyArray<[number, number]> = [
  [1, 0.42],
  [2, 0.53],
  [3, 0.04],
  [4, 0.01],
];

/** Pixel spacing of a film resized from 1024 px at 0.143 mm (the common RSNA spacing) to `size`. */
export function scaledSpacing(base: number, size: number): number {
  return (base * 1024) / size;
}

/** What a DICOM set (RSNA, SIIM) plans per film: who, which view, its identifiers and the seeds of film and PHI. */
export type DicomFilmPlan = Pick<
  RsnaPlan,
  'patientId' | 'sex' | 'age' | 'view' | 'uids' | 'request' | 'filmSeed' | 'phiSeed'
>;

/**
 * Renders a planned film and encodes it as DICOM with the plan's UIDs, patient attributes and fake PHI; the pixel
 * spacing is the set's `spacing1024` (mm at 1024 px) scaled to the written size.
 */
export async function renderDicomFilm(
  cfg: SynthConfig,
  plan: DicomFilmPlan,
  transferSyntax: DicomTransferSyntax,
  spacing1024: number,
): Promise<{ film: ReturnType<typeof renderFilm>; bytes: Uint8Array }> {
  const film = renderFilm(plan.request, createRng(plan.filmSeed));
  const bytes = await encodeDicomFilm({
    pixels: film.pixels,
    width: film.width,
    height: film.height,
    transferSyntax,
    jpegQuality: cfg.jpegQuality,
    studyInstanceUid: plan.uids.study,
    seriesInstanceUid: plan.uids.series,
    sopInstanceUid: plan.uids.sop,
    patientId: plan.patientId,
    patientSex: plan.sex,
    patientAge: plan.age,
    viewPosition: plan.view,
    pixelSpacing: scaledSpacing(spacing1024, cfg.size),
    phi: fakePhi(createRng(plan.phiSeed), plan.sex, plan.age),
  });
  return { film, bytes };
}

/** Everything drawn for RSNA image `index`, before rendering (the writer and the tests share it). */
export interface RsnaPlan {
  patientId: string;
  sex: Sex;
  age: number;
  positive: boolean;
  cls: 'Lung Opacity' | 'No Lung Opacity / Not Normal' | 'Normal';
  view: 'PA' | 'AP';
  request: RenderRequest;
  /** Seed of the film's Rng: `renderFilm(request, createRng(filmSeed))` redraws the written film. */
  filmSeed: number;
  uids: FilmUids;
  phiSeed: number;
}

/** Plans RSNA image `index` of a configuration. */
export function planRsnaImage(cfg: SynthConfig, index: number): RsnaPlan {
  const rng = createRng(deriveSeed(cfg.seed, `rsna/image/${index}`));
  const patientId = randomUuid(rng);
  const sex: Sex = rng.bernoulli(0.57) ? 'M' : 'F';
  const age = rng.bernoulli(0.05) ? rng.int(2, 18) : rng.int(18, 90);
  const positive = rng.bernoulli(cfg.rsna.positiveFraction);
  let cls: RsnaPlan['cls'] = 'Normal';
  const findings: FindingSpec[] = [];
  if (positive) {
    let u = rng.next();
    let n = 1;
    for (const [count, p] of BOX_COUNTS) {
      n = count;
      if ((u -= p) < 0) break;
    }
    findings.push({ kind: 'Pneumonia', count: n });
    cls = 'Lung Opacity';
  } else if (rng.bernoulli(cfg.rsna.notNormalFraction)) {
    findings.push({ kind: rng.pick(NOT_NORMAL) });
    cls = 'No Lung Opacity / Not Normal';
  }
  const view = rng.bernoulli(positive ? 0.65 : 0.4) ? 'AP' : 'PA';
  return {
    patientId,
    sex,
    age,
    positive,
    cls,
    view,
    request: { size: cfg.size, view, sex, findings },
    filmSeed: rng.seed(),
    uids: filmUids(rng, rng.int(100000, 1000000)),
    phiSeed: rng.seed(),
  };
}

/** What the RSNA writer produced. */
export interface RsnaSummary {
  images: number;
  positives: number;
  boxes: number;
}

/** Writes the RSNA set into `sink` (the dataset folder). */
export async function writeRsna(cfg: SynthConfig, sink: FileSink, tick: Tick): Promise<RsnaSummary> {
  const rows: Array<{ id: string; label: string; cls: string }> = [];
  let positives = 0;
  let boxes = 0;
  for (let i = 0; i < cfg.counts.rsna; i++) {
    const plan = planRsnaImage(cfg, i);
    const { patientId } = plan;
    const { film, bytes } = await renderDicomFilm(cfg, plan, cfg.rsna.transferSyntax, 0.143);
    await sink.write(`stage_2_train_images/${patientId}.dcm`, bytes);
    const opacities = film.findings.filter((f) => f.kind === 'Pneumonia');
    if (plan.positive && opacities.length > 0) {
      positives++;
      for (const f of opacities) {
        // Whole pixels, printed as floats with `.0` like the real file.
        const b = boxToAnnotation(cfg, f.box);
        const x = Math.round(b.x);
        const y = Math.round(b.y);
        const w = Math.round(b.x + b.width) - x;
        const h = Math.round(b.y + b.height) - y;
        rows.push({ id: patientId, label: `${patientId},${x}.0,${y}.0,${w}.0,${h}.0,1`, cls: plan.cls });
        boxes++;
      }
    } else {
      // A positive plan whose opacities all fell outside the visible lung is written as not normal.
      rows.push({
        id: patientId,
        label: `${patientId},,,,,0`,
        cls: plan.positive ? 'No Lung Opacity / Not Normal' : plan.cls,
      });
    }
    tick();
  }
  // The real files list patients in patientId order, boxes of one patient together.
  const order = rows.map((r, k) => ({ r, k })).sort((a, b) => (a.r.id < b.r.id ? -1 : a.r.id > b.r.id ? 1 : a.k - b.k));
  await sink.write(
    'stage_2_train_labels.csv',
    joinLines(['patientId,x,y,width,height,Target', ...order.map((o) => o.r.label)]),
  );
  await sink.write(
    'stage_2_detailed_class_info.csv',
    joinLines(['patientId,class', ...order.map((o) => `${o.r.id},${o.r.cls}`)]),
  );
  return { images: cfg.counts.rsna, positives, boxes };
}
