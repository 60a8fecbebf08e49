import { CHESTXRAY14_CLASSES, createRng, deriveSeed, type ChestXray14Class, type Rng } from '@multichexnet/core';
import { drawAnatomy, type Sex } from './anatomy';
import type { SynthConfig } from './config';
import { joinLines } from './csv';
import { encodePngGray } from './image-codec';
import type { FileSink, Tick } from './output';
import { renderFilm } from './render';

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
  '2017': 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],',
  v2020: 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Sex,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],',
  txv: 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]',
};

/** File name of the index for each header variant. */
export const NIH_INDEX_FILE: Readonly<Record<SynthConfig['nih']['header'], string>> = {
  '2017': 'Data_Entry_2017.csv',
  v2020: 'Data_Entry_2017_v2020.csv',
  txv: 'Data_Entry_2017_v2020.csv',
};

function labelRates(cfg: SynthConfig['nih']): Record<ChestXray14Class, number> {
  const out = {} as Record<ChestXray14Class, number>;
  for (const c of CHESTXRAY14_CLASSES) {
    out[c] = cfg.prevalence === 'nih' ? NIH_RATES[c] : cfg.prevalence === 'balanced' ? 0.08 : (cfg.prevalence[c] ?? 0.08);
  }
  return out;
}

function drawLabels(rng: Rng, rates: Record<ChestXray14Class, number>, max: number): ChestXray14Class[] {
  let labels = CHESTXRAY14_CLASSES.filter((c) => rng.bernoulli(rates[c]));
  if (labels.length > max) labels = rng.shuffle(labels).slice(0, max);
  return labels;
}

/** What the NIH writer produced. */
export interface NihSummary {
  images: number;
  patients: number;
  boxes: number;
}

/** Writes the NIH set into `sink` (the dataset folder). */
export async function writeNih(cfg: SynthConfig, sink: FileSink, tick: Tick): Promise<NihSummary> {
  const total = cfg.counts.nih;
  const meta = createRng(deriveSeed(cfg.seed, 'nih/meta'));
  const rates = labelRates(cfg.nih);
  const rows: string[] = [HEADERS[cfg.nih.header]];
  const boxRows: string[] = ['Image Index,Finding Label,Bbox [x,y,w,h],,,'];
  const imagesByPatient: string[][] = [];
  const trailing = cfg.nih.header === 'txv' ? '' : ',';
  let written = 0;
  let patientId = 0;
  while (written < total) {
    patientId++;
    // Most patients have one film, a few many (as in the real index): a geometric count, capped.
    let n = 1;
    while (n < cfg.nih.maxImagesPerPatient && meta.bernoulli(0.45)) n++;
    n = Math.min(n, total - written);
    const prng = createRng(deriveSeed(cfg.seed, `nih/patient/${patientId}`));
    const sex: Sex = prng.bernoulli(0.56) ? 'M' : 'F';
    const baseAge = prng.bernoulli(0.04) ? prng.int(2, 18) : prng.int(18, 90);
    const anatomy = drawAnatomy(prng.fork('anatomy'), sex);
    const [ow, oh] = prng.pick(ORIGINAL_SIZES);
    const spacing = prng.pick(SPACINGS);
    const names: string[] = [];
    for (let j = 0; j < n; j++) {
      const irng = createRng(deriveSeed(cfg.seed, `nih/patient/${patientId}/image/${j}`));
      const name = `${String(patientId).padStart(8, '0')}_${String(j).padStart(3, '0')}.png`;
      const labels = drawLabels(irng, rates, cfg.nih.maxFindings);
      const view = irng.bernoulli(0.6) ? 'PA' : 'AP';
      const film = renderFilm({ size: cfg.size, view, sex, anatomy, findings: labels.map((kind) => ({ kind })) }, irng.fork('film'));
      await sink.write(`images/${name}`, encodePngGray(film.pixels, film.width, film.height));
      // Labels are usually sorted, but the real index has a few unsorted rows: parsers must treat them as a set.
      const ordered = labels.length > 1 && irng.bernoulli(0.02) ? labels.slice().reverse() : labels.slice().sort();
      const followUp = irng.bernoulli(0.15) ? j + irng.int(1, 4) : j;
      const age = baseAge + Math.floor(j / 2);
      rows.push(`${name},${ordered.length === 0 ? 'No Finding' : ordered.join('|')},${followUp},${patientId},${age},${sex},${view},${ow},${oh},${spacing},${spacing}${trailing}`);
      if (labels.length > 0 && irng.bernoulli(cfg.nih.bboxFraction)) {
        const boxed = film.findings.filter((f) => BBOX_LABELS[f.kind as ChestXray14Class] !== undefined).slice(0, 4);
        for (const f of boxed) {
          const b = f.box;
          boxRows.push(`${name},${BBOX_LABELS[f.kind as ChestXray14Class] as string},${b.x},${b.y},${b.width},${b.height}`);
        }
      }
      names.push(name);
      written++;
      tick();
    }
    imagesByPatient.push(names);
  }
  await sink.write(NIH_INDEX_FILE[cfg.nih.header], joinLines(rows));
  await sink.write('BBox_List_2017.csv', joinLines(boxRows));
  const order = meta.shuffle(imagesByPatient.map((_, i) => i));
  const nTest = Math.round(cfg.nih.testFraction * imagesByPatient.length);
  const test = new Set(order.slice(0, nTest));
  const trainVal: string[] = [];
  const testNames: string[] = [];
  imagesByPatient.forEach((names, i) => (test.has(i) ? testNames : trainVal).push(...names));
  await sink.write('train_val_list.txt', joinLines(trainVal));
  await sink.write('test_list.txt', joinLines(testNames));
  return { images: written, patients: imagesByPatient.length, boxes: boxRows.length - 1 };
}
