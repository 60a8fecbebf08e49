import { createRng, deriveSeed } from '@multichexnet/core';
import { rleEncode } from '@multichexnet/data';
import type { Sex } from './anatomy';
import { maskToAnnotation } from './annotation-space';
import type { SynthConfig } from './config';
import { joinLines } from './csv';
import type { FindingKind } from './findings/painters';
import { filmUids, randomUuid, type FilmUids } from './identifiers';
import type { FileSink, Tick } from './output';
import type { FindingSpec, RenderRequest } from './render';
import { renderDicomFilm } from './rsna-writer';

/*
 * SIIM-ACR Pneumothorax layout (specs/DATASETS.md §3): train-rle.csv with the header `ImageId, EncodedPixels`
 * (space included), one row per pneumothorax instance (the drawn region's mask, column-major RLE at the written
 * size) or one `-1` row, and dicom-images-train/<StudyUID>/<SeriesUID>/<SOPUID>.dcm with ImageId = SOP UID.
 */

/** Other findings some pneumothorax-negative films carry (the real negatives are not all normal). */
const OTHER: readonly FindingKind[] = [
  'Cardiomegaly',
  'Effusion',
  'Nodule',
  'Atelectasis',
  'Emphysema',
  'Pleural_Thickening',
];

/** Everything drawn for SIIM image `index`, before rendering (the writer and the tests share it). */
export interface SiimPlan {
  uids: FilmUids;
  patientId: string;
  sex: Sex;
  age: number;
  positive: boolean;
  view: 'PA' | 'AP';
  request: RenderRequest;
  /** Seed of the film's Rng: `renderFilm(request, createRng(filmSeed))` redraws the written film. */
  filmSeed: number;
  phiSeed: number;
}

/** Plans SIIM image `index` of a configuration. */
export function planSiimImage(cfg: SynthConfig, index: number): SiimPlan {
  const rng = createRng(deriveSeed(cfg.seed, `siim/image/${index}`));
  const uids = filmUids(rng, 100000 + index);
  const patientId = randomUuid(rng);
  const sex: Sex = rng.bernoulli(0.55) ? 'M' : 'F';
  const age = rng.int(16, 90);
  const positive = rng.bernoulli(cfg.siim.positiveFraction);
  const findings: FindingSpec[] = [];
  if (positive) {
    const count = rng.bernoulli(cfg.siim.multiInstanceFraction) ? rng.int(2, 4) : 1;
    findings.push({ kind: 'Pneumothorax', count });
  } else if (rng.bernoulli(0.15)) {
    findings.push({ kind: rng.pick(OTHER) });
  }
  const view = rng.bernoulli(0.7) ? 'PA' : 'AP';
  return {
    uids,
    patientId,
    sex,
    age,
    positive,
    view,
    request: { size: cfg.size, view, sex, findings },
    filmSeed: rng.seed(),
    phiSeed: rng.seed(),
  };
}

/** What the SIIM writer produced. */
export interface SiimSummary {
  images: number;
  positives: number;
  instances: number;
}

/** Writes the SIIM set into `sink` (the dataset folder). */
export async function writeSiim(cfg: SynthConfig, sink: FileSink, tick: Tick): Promise<SiimSummary> {
  const lead = cfg.siim.leadingSpace ? ' ' : '';
  const rows: string[] = ['ImageId, EncodedPixels'];
  let positives = 0;
  let instances = 0;
  for (let i = 0; i < cfg.counts.siim; i++) {
    const plan = planSiimImage(cfg, i);
    const { uids } = plan;
    const { film, bytes } = await renderDicomFilm(cfg, plan, cfg.siim.transferSyntax, 0.168);
    await sink.write(`dicom-images-train/${uids.study}/${uids.series}/${uids.sop}.dcm`, bytes);
    const masks = film.findings.filter((f) => f.kind === 'Pneumothorax');
    if (masks.length === 0) rows.push(`${uids.sop},${lead}-1`);
    else positives++;
    for (const m of masks) {
      rows.push(`${uids.sop},${lead}${rleEncode(maskToAnnotation(cfg, m.mask))}`);
      instances++;
    }
    tick();
  }
  await sink.write('train-rle.csv', joinLines(rows));
  return { images: cfg.counts.siim, positives, instances };
}
