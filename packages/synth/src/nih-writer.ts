import { CHESTXRAY14_CLASSES, createRng, deriveSeed, type ChestXray14Class, type Rng } from '@multichexnet/core';
import { drawAnatomy, type Sex } from './anatomy';
import { boxToAnnotation } from './annotation-space';
import type { SynthConfig } from './config';
import { joinLines } from './csv';
import { encodePngGray } from './image-codec';
import type { FileSink, Tick } from './output';
import { renderFilm, type RenderRequest } from './render';

/*
 * NIH ChestX-ray14 layout (specs/DATASETS.md §1): Data_Entry_2017.csv, images/{PatientID:08d}_{NNN}.png (8-bit
 * gray, at the configured size rather than 1024), BBox_List_2017.csv for a share of the findings (boxes in
 * pixels of the written images), and a patient-wise train_val_list.txt / test_list.txt.
 */

/** Label rates of the real ChestX-ray14 index (label count / 112,120 images). */
const NIH_RATES: Readonly<Record<ChestXray14Class, number>> = {
  Atelectasis: 11559 / 112120,
  Cardiomegaly: 2776 / 112120,
  Effusion: 13317 / 112120,
  Infiltration: 19894 / 112120,
  Mass: 5782 / 112120,
  Nodule: 6331 / 112120,
  Pneumonia: 1431 / 112120,
  Pneumothorax: 5302 / 112120,
  Consolidation: 4667 / 112120,
  Edema: 2303 / 112120,
  Emphysema: 2516 / 112120,
  Fibrosis: 1686 / 112120,
  Pleural_Thickening: 3385 / 112120,
  Hernia: 227 / 112120,
};

/** The eight labels of BBox_List_2017.csv, with its spelling (`Infiltrate`). */
const BBOX_LABELS: Partial<Record<ChestXray14Class, string>> = {
  Atelectasis: 'Atelectasis',
  Cardiomegaly: 'Cardiomegaly',
  Effusion: 'Effusion',
  Infiltration: 'Infiltrate',
  Mass: 'Mass',
  Nodule: 'Nodule',
  Pneumonia: 'Pneumonia',
  Pneumothorax: 'Pneumothorax',
};

/** Original-film sizes and pixel spacings as they occur in the real index (spacings in Python repr). */
const ORIGINAL_SIZES: ReadonlyArray<[number, number]> = [
  [2500, 2048],
  [2992, 2991],
  [3056, 2544],
  [2048, 2500],
  [2021, 2021],
];
const SPACINGS = ['0.14300000000000002', '0.168', '0.139', '0.171', '0.19431099999999998'];

const HEADERS: Readonly<Record<SynthConfig['nih']['header'], string>> = {
  '2017':
    'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],',
  v2020:
    'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Sex,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],',
  txv: 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]',
};

/** File name of the index for each header variant. */
export const NIH_INDEX_FILE: Readonly<Record<SynthConfig['nih']['header'], string>> = {
  '2017': 'Data_Entry_2017.csv',
  v2020: 'Data_Entry_2017_v2020.csv',
  txv: 'Data_Entry_2017_v2020.csv',
};

/** A coordinate as the real file prints them: integers bare, others with 15 significant digits. */
function num(v: number): string {
  return String(Number(v.toPrecision(15)));
}

function labelRates(cfg: SynthConfig['nih']): Record<ChestXray14Class, number> {
  const out = {} as Record<ChestXray14Class, number>;
  for (const c of CHESTXRAY14_CLASSES) {
    out[c] =
      cfg.prevalence === 'nih' ? NIH_RATES[c] : cfg.prevalence === 'balanced' ? 0.08 : (cfg.prevalence[c] ?? 0.08);
  }
  return out;
}

function drawLabels(rng: Rng, rates: Record<ChestXray14Class, number>, max: number): ChestXray14Class[] {
  let labels = CHESTXRAY14_CLASSES.filter((c) => rng.bernoulli(rates[c]));
  if (labels.length > max) labels = rng.shuffle(labels).slice(0, max);
  return labels;
}

/** One planned NIH image: its index row fields and the film to render. */
export interface NihImagePlan {
  name: string;
  patientId: number;
  followUp: number;
  age: number;
  sex: Sex;
  view: 'PA' | 'AP';
  /** Labels in the order written to `Finding Labels` (usually sorted). */
  labels: ChestXray14Class[];
  originalSize: [number, number];
  spacing: string;
  /** Whether this image's boxes go to BBox_List_2017.csv. */
  boxed: boolean;
  request: RenderRequest;
  /** Seed of the film's Rng: `renderFilm(request, createRng(filmSeed))` redraws the written film. */
  filmSeed: number;
}

/** The planned NIH set: images in patient order, and which patients form the official test split. */
export interface NihPlan {
  images: NihImagePlan[];
  patients: number;
  testPatients: ReadonlySet<number>;
}

/** Plans the NIH set of a configuration (no rendering). */
export function planNih(cfg: SynthConfig): NihPlan {
  const total = cfg.counts.nih;
  const meta = createRng(deriveSeed(cfg.seed, 'nih/meta'));
  const rates = labelRates(cfg.nih);
  const images: NihImagePlan[] = [];
  let patientId = 0;
  while (images.length < total) {
    patientId++;
    // Most patients have one film, a few many (as in the real index): a geometric count, capped.
    let n = 1;
    while (n < cfg.nih.maxImagesPerPatient && meta.bernoulli(0.45)) n++;
    n = Math.min(n, total - images.length);
    const prng = createRng(deriveSeed(cfg.seed, `nih/patient/${patientId}`));
    const sex: Sex = prng.bernoulli(0.56) ? 'M' : 'F';
    const baseAge = prng.bernoulli(0.04) ? prng.int(2, 18) : prng.int(18, 90);
    const anatomy = drawAnatomy(prng.fork('anatomy'), sex);
    const originalSize = prng.pick(ORIGINAL_SIZES);
    const spacing = prng.pick(SPACINGS);
    for (let j = 0; j < n; j++) {
      const irng = createRng(deriveSeed(cfg.seed, `nih/patient/${patientId}/image/${j}`));
      const drawn = drawLabels(irng, rates, cfg.nih.maxFindings);
      const view = irng.bernoulli(0.6) ? 'PA' : 'AP';
      // Labels are usually sorted, but the real index has a few unsorted rows: parsers must treat them as a set.
      const labels = drawn.length > 1 && irng.bernoulli(0.02) ? drawn.slice().sort().reverse() : drawn.slice().sort();
      images.push({
        name: `${String(patientId).padStart(8, '0')}_${String(j).padStart(3, '0')}.png`,
        patientId,
        followUp: irng.bernoulli(0.15) ? j + irng.int(1, 4) : j,
        age: baseAge + Math.floor(j / 2),
        sex,
        view,
        labels,
        originalSize: [originalSize[0], originalSize[1]],
        spacing,
        boxed: drawn.length > 0 && irng.bernoulli(cfg.nih.bboxFraction),
        request: { size: cfg.size, view, sex, anatomy, findings: drawn.map((kind) => ({ kind })) },
        filmSeed: irng.seed(),
      });
    }
  }
  const order = meta.shuffle(Array.from({ length: patientId }, (_, i) => i + 1));
  const testPatients = new Set(order.slice(0, Math.round(cfg.nih.testFraction * patientId)));
  return { images, patients: patientId, testPatients };
}

/** What the NIH writer produced. */
export interface NihSummary {
  images: number;
  patients: number;
  boxes: number;
}

/** Writes the NIH set into `sink` (the dataset folder). */
export async function writeNih(cfg: SynthConfig, sink: FileSink, tick: Tick): Promise<NihSummary> {
  const plan = planNih(cfg);
  const rows: string[] = [HEADERS[cfg.nih.header]];
  const boxRows: string[] = ['Image Index,Finding Label,Bbox [x,y,w,h],,,'];
  const trailing = cfg.nih.header === 'txv' ? '' : ',';
  const trainVal: string[] = [];
  const test: string[] = [];
  for (const im of plan.images) {
    const film = renderFilm(im.request, createRng(im.filmSeed));
    await sink.write(`images/${im.name}`, encodePngGray(film.pixels, film.width, film.height));
    const labels = im.labels.length === 0 ? 'No Finding' : im.labels.join('|');
    const [ow, oh] = im.originalSize;
    rows.push(
      `${im.name},${labels},${im.followUp},${im.patientId},${im.age},${im.sex},${im.view},${ow},${oh},${im.spacing},${im.spacing}${trailing}`,
    );
    if (im.boxed) {
      const boxed = film.findings.filter((f) => BBOX_LABELS[f.kind as ChestXray14Class] !== undefined).slice(0, 4);
      for (const f of boxed) {
        const b = boxToAnnotation(cfg, f.box);
        boxRows.push(
          `${im.name},${BBOX_LABELS[f.kind as ChestXray14Class] as string},${num(b.x)},${num(b.y)},${num(b.width)},${num(b.height)}`,
        );
      }
    }
    (plan.testPatients.has(im.patientId) ? test : trainVal).push(im.name);
    tick();
  }
  await sink.write(NIH_INDEX_FILE[cfg.nih.header], joinLines(rows));
  await sink.write('BBox_List_2017.csv', joinLines(boxRows));
  await sink.write('train_val_list.txt', joinLines(trainVal));
  await sink.write('test_list.txt', joinLines(test));
  return { images: plan.images.length, patients: plan.patients, boxes: boxRows.length - 1 };
}
