import { createRng, deriveSeed, type Rng } from '@multichexnet/core';
import type { Sex, ViewPosition } from './anatomy';
import { drawAnatomy } from './anatomy';
import type { SynthConfig } from './config';
import { csvField, joinLines } from './csv';
import type { FindingKind } from './findings/painters';
import { encodeJpeg, encodePngGray } from './image-codec';
import { encodeNiftiGz } from './nifti';
import type { FileSink, Tick } from './output';
import { renderFilm } from './render';

/*
 * COVID-19 image data collection layout (specs/DATASETS.md §4): metadata.csv in the 2020 schema (29 named
 * columns and a trailing comma, RFC-4180 quoting, some multi-line clinical notes), images/<filename> (.jpg,
 * .jpeg, .png; gray or RGB JPEGs) and a few CT rows pointing at volumes/<name>.nii.gz that loaders must skip.
 * The COVID-19 pattern (bilateral peripheral lower-zone ground glass) appears in this set only.
 */

/** The 2020 header (29 named columns, then the trailing empty one). */
export const COVID_HEADER =
  'patientid,offset,sex,age,finding,RT_PCR_positive,survival,intubated,intubation_present,went_icu,in_icu,needed_supplemental_O2,extubated,temperature,pO2_saturation,leukocyte_count,neutrophil_count,lymphocyte_count,view,modality,date,location,folder,filename,doi,url,license,clinical_notes,other_notes,';

const COVID = 'Pneumonia/Viral/COVID-19';

/** The clinical columns between RT_PCR_positive and view (survival .. lymphocyte_count). */
const CLINICAL_FIELDS = 12;

/** Non-COVID findings with their weights and the pattern drawn for them. */
const OTHER_FINDINGS: ReadonlyArray<[string, number, FindingKind | null]> = [
  ['Pneumonia/Bacterial/Streptococcus', 0.1, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial/Klebsiella', 0.04, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial/Mycoplasma', 0.03, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial/Legionella', 0.03, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial/Staphylococcus/MRSA', 0.03, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial/E.Coli', 0.02, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial/Chlamydophila', 0.02, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial/Nocardia', 0.02, 'BacterialPneumonia'],
  ['Pneumonia/Bacterial', 0.04, 'BacterialPneumonia'],
  ['Pneumonia/Aspiration', 0.02, 'BacterialPneumonia'],
  ['Pneumonia/Lipoid', 0.02, 'BacterialPneumonia'],
  ['Pneumonia/Viral/SARS', 0.06, 'ViralPneumonia'],
  ['Pneumonia/Viral/MERS-CoV', 0.03, 'ViralPneumonia'],
  ['Pneumonia/Viral/Influenza', 0.04, 'ViralPneumonia'],
  ['Pneumonia/Viral/Influenza/H1N1', 0.02, 'ViralPneumonia'],
  ['Pneumonia/Viral/Varicella', 0.02, 'ViralPneumonia'],
  // The raw value really ends with a space.
  ['Pneumonia/Viral/Herpes ', 0.01, 'ViralPneumonia'],
  ['Pneumonia/Fungal/Pneumocystis', 0.07, 'FungalPneumonia'],
  ['Pneumonia/Fungal/Aspergillosis', 0.02, 'FungalPneumonia'],
  ['Tuberculosis', 0.08, 'Tuberculosis'],
  ['No Finding', 0.15, null],
];

const LOCATIONS = [
  'Wuhan, China',
  'Milan, Italy',
  'Barcelona, Spain',
  'Toronto, Canada',
  'Seoul, South Korea',
  'New York, USA',
  'Tehran, Iran',
  'Sydney, Australia',
  '',
];
const LICENSES = ['CC BY-NC-SA 4.0', 'CC BY 4.0', 'CC BY-NC-ND 4.0', 'Apache 2.0', ''];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June'];

function pickWeighted<T>(rng: Rng, items: ReadonlyArray<readonly [string, number, T]>): readonly [string, number, T] {
  const total = items.reduce((s, it) => s + it[1], 0);
  let u = rng.next() * total;
  for (const it of items) if ((u -= it[1]) < 0) return it;
  return items[items.length - 1] as readonly [string, number, T];
}

function yesNo(rng: Rng, pYes: number, pBlank: number): string {
  return rng.bernoulli(pBlank) ? '' : rng.bernoulli(pYes) ? 'Y' : 'N';
}

function number(rng: Rng, lo: number, hi: number, digits: number, pBlank: number): string {
  return rng.bernoulli(pBlank) ? '' : rng.uniform(lo, hi).toFixed(digits);
}

function clinicalNote(rng: Rng, age: number | null, sex: Sex | null, covid: boolean, offset: number): string {
  const who = `${age === null ? 'An adult' : `A ${age}-year-old`} ${sex === 'F' ? 'woman' : sex === 'M' ? 'man' : 'patient'}`;
  const symptoms = covid
    ? rng.pick(['fever and dry cough', 'fever, myalgia and dyspnoea', 'cough and anosmia'])
    : rng.pick(['productive cough and fever', 'fever and pleuritic chest pain', 'progressive dyspnoea']);
  let note = `${who} presented with ${symptoms} for ${rng.int(2, 10)} days.`;
  if (rng.bernoulli(0.2)) note += ` Auscultation revealed "crackles" at both bases.`;
  if (rng.bernoulli(0.15))
    note += `\nDay ${offset + rng.int(2, 6)}: oxygen saturation fell to ${rng.int(82, 93)}%, supplemental oxygen started.\nChest film repeated.`;
  return note;
}

function slug(finding: string): string {
  const last = finding.trim().split('/').pop() ?? 'finding';
  return `${last.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-pneumonia`.replace(/^no-finding-pneumonia$/, 'normal');
}

/** An axial CT volume with two lungs and peripheral ground glass, for the skipped CT rows. */
function ctVolume(rng: Rng): Uint8Array {
  const n = 48;
  const nz = 12;
  const vox = new Uint8Array(n * n * nz);
  const blobs = Array.from({ length: 4 }, () => ({
    x: rng.pick([0.18, 0.82]) + rng.normal(0, 0.03),
    y: rng.uniform(0.55, 0.75),
    z: rng.uniform(0, 1),
    r: rng.uniform(0.06, 0.1),
  }));
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const u = (x + 0.5) / n;
        const v = (y + 0.5) / n;
        const w = (z + 0.5) / nz;
        let val = ((u - 0.5) / 0.45) ** 2 + ((v - 0.5) / 0.35) ** 2 < 1 ? 110 : 0;
        for (const cx of [0.3, 0.7]) if (((u - cx) / 0.16) ** 2 + ((v - 0.52) / 0.22) ** 2 < 1) val = 15;
        if (((u - 0.5) / 0.06) ** 2 + ((v - 0.72) / 0.06) ** 2 < 1) val = 220;
        for (const b of blobs)
          if ((u - b.x) ** 2 + (v - b.y) ** 2 + ((w - b.z) * 0.3) ** 2 < b.r * b.r && val === 15) val = 60;
        vox[(z * n + y) * n + x] = val;
      }
    }
  }
  return vox;
}

/** What the COVID writer produced. */
export interface CovidSummary {
  images: number;
  covid: number;
  ctRows: number;
}

/** Writes the COVID-19 collection into `sink` (the dataset folder). */
export async function writeCovid(cfg: SynthConfig, sink: FileSink, tick: Tick): Promise<CovidSummary> {
  const rows: string[] = [COVID_HEADER];
  let written = 0;
  let covidImages = 0;
  let pid = 0;
  while (written < cfg.counts.covid) {
    pid++;
    const rng = createRng(deriveSeed(cfg.seed, `covid/patient/${pid}`));
    const isCovid = rng.bernoulli(cfg.covid.covidFraction);
    const [finding, , kind] = isCovid ? ([COVID, 1, 'Covid19'] as const) : pickWeighted(rng, OTHER_FINDINGS);
    const sexKnown = rng.bernoulli(0.92);
    const sex: Sex = rng.bernoulli(0.6) ? 'M' : 'F';
    const age = rng.bernoulli(0.1) ? null : rng.int(20, 90);
    const anatomy = drawAnatomy(rng.fork('anatomy'), sex);
    const n = Math.min(cfg.counts.covid - written, rng.pick([1, 1, 1, 2, 2, 3]));
    const style = rng.int(0, 4);
    const rgb = rng.bernoulli(0.5);
    const location = rng.pick(LOCATIONS);
    const license = rng.pick(LICENSES);
    const month = rng.pick(MONTHS);
    let offset = rng.bernoulli(0.2) ? null : rng.int(0, 6);
    for (let k = 0; k < n; k++) {
      const irng = rng.fork(`image/${k}`);
      if (k > 0) offset = (offset ?? 0) + irng.int(2, 7);
      const view: ViewPosition = irng.bernoulli(cfg.covid.lateralFraction)
        ? 'L'
        : (pickWeighted(irng, [
            ['PA', 0.5, 'PA'],
            ['AP', 0.28, 'AP'],
            ['AP Supine', 0.22, 'AP Supine'],
          ] as const)[2] as ViewPosition);
      const severity = Math.min(1, irng.uniform(0.3, 0.8) + 0.15 * k);
      const film = renderFilm(
        { size: cfg.size, view, sex, anatomy, findings: kind === null ? [] : [{ kind, severity }] },
        irng.fork('film'),
      );
      const tag = ['prior', 'day3', 'day7', 'day10'][k] ?? `day${offset ?? k}`;
      const filename =
        style === 0
          ? `${1000 + pid * 13}_${k + 1}_1.jpg`
          : style === 1
            ? `synth-${slug(finding)}-${pid}-${tag}.jpg`
            : style === 2
              ? `synth-${pid}-${k}.png`
              : `synth_case${pid}_fig${k + 1}.jpeg`;
      const bytes = filename.endsWith('.png')
        ? encodePngGray(film.pixels, film.width, film.height)
        : await encodeJpeg(film.pixels, film.width, film.height, cfg.jpegQuality, rgb ? 3 : 1);
      await sink.write(`images/${filename}`, bytes);
      const date = irng.bernoulli(0.3) ? '' : irng.bernoulli(0.5) ? '2020' : `${month} ${irng.int(1, 29)}, 2020`;
      const cells = [
        String(pid),
        offset === null ? '' : String(offset),
        sexKnown ? sex : '',
        age === null ? '' : String(age),
        finding,
        isCovid ? (irng.bernoulli(0.1) ? 'Unclear' : irng.bernoulli(0.25) ? '' : 'Y') : irng.bernoulli(0.5) ? 'N' : '',
        yesNo(irng, 0.8, 0.6),
        yesNo(irng, 0.3, 0.6),
        yesNo(irng, 0.3, 0.7),
        yesNo(irng, 0.35, 0.6),
        yesNo(irng, 0.3, 0.7),
        yesNo(irng, 0.5, 0.6),
        yesNo(irng, 0.2, 0.85),
        number(irng, 36.5, 39.8, 1, 0.7),
        number(irng, 80, 99, 0, 0.75),
        number(irng, 2.5, 14, 1, 0.8),
        number(irng, 1.5, 12, 1, 0.85),
        number(irng, 0.3, 2.5, 1, 0.85),
        view,
        'X-ray',
        date,
        location,
        'images',
        filename,
        `10.0000/synth.2020.${pid}`,
        `https://example.org/synthetic-case/${pid}`,
        license,
        clinicalNote(irng, age, sexKnown ? sex : null, isCovid, offset ?? 0),
        irng.bernoulli(0.1) ? 'Synthetic case, "multichexnet synth"' : '',
      ];
      rows.push(`${cells.map(csvField).join(',')},`);
      if (isCovid) covidImages++;
      written++;
      tick();
    }
  }
  for (let k = 0; k < cfg.covid.ctVolumes; k++) {
    pid++;
    const rng = createRng(deriveSeed(cfg.seed, `covid/ct/${k}`));
    const filename = `synth-covid-19-pneumonia-${pid}-ct.nii.gz`;
    await sink.write(
      `volumes/${filename}`,
      encodeNiftiGz({ nx: 48, ny: 48, nz: 12, voxels: ctVolume(rng), spacing: [7, 7, 5] }),
    );
    const sex = rng.bernoulli(0.5) ? 'M' : 'F';
    const cells = [
      String(pid),
      '',
      sex,
      String(rng.int(30, 85)),
      COVID,
      'Y',
      // survival .. lymphocyte_count: a CT row records none of the clinical fields
      ...Array<string>(CLINICAL_FIELDS).fill(''),
      rng.pick(['Axial', 'Coronal']),
      'CT',
      '2020',
      rng.pick(LOCATIONS),
      'volumes',
      filename,
      `10.0000/synth.2020.${pid}`,
      `https://example.org/synthetic-case/${pid}`,
      'CC BY-NC-SA 4.0',
      'CT volume of a synthetic COVID-19 case.',
      '',
    ];
    rows.push(`${cells.map(csvField).join(',')},`);
  }
  await sink.write('metadata.csv', joinLines(rows));
  return { images: written, covid: covidImages, ctRows: cfg.covid.ctVolumes };
}
