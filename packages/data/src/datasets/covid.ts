import { DataError, parseConfig, z } from '@multichexnet/core';
import { parseCsvRows } from '../csv/parse-csv';
import { openSource } from '../io/open-source';
import { requireText } from '../io/read-text';
import { resolveInside } from '../io/safe-path';
import { badRowSink, guardRow } from './bad-rows';
import { presentDataset, type Dataset } from './dataset';
import { BaseDatasetOptionsSchema } from './options';
import { harmoniseLabels, type Pathology } from './pathologies';
import type { SampleEntry } from './sample';

/** Options of {@link openCovid}. */
export const CovidOptionsSchema = BaseDatasetOptionsSchema.extend({
  /** Metadata table relative to root. */
  labelsFile: z.string().min(1).default('metadata.csv'),
  /** Views kept (exact `view` values). Laterals (`L`) and CT views are left out by default. */
  views: z.array(z.string().min(1)).min(1).default(['PA', 'AP', 'AP Supine']),
  /** Modalities kept when the table has a `modality` column (the 2020 schema). */
  modalities: z.array(z.string().min(1)).min(1).default(['X-ray']),
  /** `finding` values treated as "not annotated" and left out. */
  excludeFindings: z.array(z.string()).default(['todo', 'Unknown']),
}).strict();

/** What users pass to {@link openCovid}. */
export type CovidOptions = z.input<typeof CovidOptionsSchema>;

/** One kept row of `metadata.csv`. */
export interface CovidRow {
  patientId: string;
  /** `finding` split on '/', each part trimmed. */
  finding: string[];
  view: string;
  modality?: string;
  /** Image path relative to the root (`<folder>/<filename>`, default folder `images`). */
  path: string;
  filename: string;
}

/** Early (flat) `finding` values that name a pneumonia agent rather than the `Pneumonia/...` path. */
const FLAT_PNEUMONIAS: ReadonlySet<string> = new Set([
  'COVID-19',
  'SARS',
  'MERS',
  'MERS-CoV',
  'Streptococcus',
  'Pneumocystis',
  'Chlamydophila',
  'E.Coli',
  'Klebsiella',
  'Legionella',
]);
const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** `finding` text → hierarchy, e.g. `Pneumonia/Viral/Herpes ` → ['Pneumonia', 'Viral', 'Herpes']. */
export function splitFinding(finding: string): string[] {
  return finding
    .trim()
    .split('/')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Harmonised labels of a COVID collection finding: COVID-19 is 1 when the path contains it and 0 otherwise;
 * Pneumonia is 1 under `Pneumonia/...` (or a flat pneumonia agent of the early schema), 0 for `No Finding`,
 * and NaN for other findings (Tuberculosis, ARDS), which may or may not show pneumonia. Other classes NaN.
 */
export function covidLabels(finding: readonly string[]): Float32Array {
  const known: Partial<Record<Pathology, number>> = { 'COVID-19': finding.includes('COVID-19') ? 1 : 0 };
  if (finding.includes('Pneumonia') || (finding.length === 1 && FLAT_PNEUMONIAS.has(finding[0] as string)))
    known.Pneumonia = 1;
  else if (finding.length === 1 && finding[0] === 'No Finding') known.Pneumonia = 0;
  return harmoniseLabels(known);
}

/**
 * `metadata.csv` text (2020 schema with its trailing comma, or the early schema) → kept rows. Rows of volumes
 * (`.nii.gz`), other views or modalities and excluded findings are dropped silently; a file name that would
 * leave the root always throws a DataError.
 */
export function parseCovidMetadata(
  text: string,
  file: string,
  onBad: (err: DataError) => void,
  filters: { views: readonly string[]; modalities: readonly string[]; excludeFindings: readonly string[] },
): CovidRow[] {
  const rows = parseCsvRows(text, file);
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  const col = (name: string): number => header.indexOf(name);
  const need = ['patientid', 'finding', 'view', 'filename'];
  const absent = need.filter((n) => col(n) < 0);
  if (absent.length > 0) {
    throw new DataError('Not a COVID-19 collection metadata file', {
      file,
      row: 1,
      field: absent.join(', '),
      expected: `columns ${need.join(', ')}`,
      found: header.join(','),
    });
  }
  const [cPatient, cFinding, cView, cFile, cModality, cFolder] = [...need, 'modality', 'folder'].map(col) as number[];
  const views = new Set(filters.views);
  const modalities = new Set(filters.modalities);
  const excluded = new Set(filters.excludeFindings);
  const out: CovidRow[] = [];
  for (let r = 1; r < rows.length; r++) {
    const cells = rows[r] as string[];
    const row = r + 1;
    const cell = (c: number | undefined): string => (c === undefined || c < 0 ? '' : (cells[c] ?? '').trim());
    const filename = cell(cFile);
    const folder = cell(cFolder) || 'images';
    if (folder === 'volumes' || !IMAGE_EXT.test(filename)) continue;
    // outside guardRow on purpose: a path escaping the root is an attack, not a bad sample to skip
    const path = resolveInside(`${folder}/${filename}`, file, row);
    const view = cell(cView);
    const modality = cell(cModality);
    if (!views.has(view)) continue;
    if (cModality !== undefined && cModality >= 0 && !modalities.has(modality)) continue;
    const raw = cell(cFinding);
    if (excluded.has(raw)) continue;
    const kept = guardRow(onBad, () => {
      const finding = splitFinding(raw);
      if (finding.length === 0)
        throw new DataError('Bad COVID metadata row', {
          file,
          row,
          field: 'finding',
          expected: 'a finding',
          found: '""',
        });
      const patientId = cell(cPatient);
      if (patientId === '')
        throw new DataError('Bad COVID metadata row', {
          file,
          row,
          field: 'patientid',
          expected: 'a patient id',
          found: '""',
        });
      const r0: CovidRow = { patientId, finding, view, path, filename };
      if (modality !== '') r0.modality = modality;
      return r0;
    });
    if (kept !== undefined) out.push(kept);
  }
  return out;
}

/**
 * Opens the COVID-19 image data collection (`ieee8023/covid-chestxray-dataset` layout) at `root`:
 * `metadata.csv` and `images/<filename>`. Keeps frontal X-rays by default; volumes are skipped.
 *
 * @example
 * const covid = await openCovid({ root: '/data/covid-chestxray-dataset', views: ['PA'] });
 * const s = await covid.get(0); // { labels: [..., Pneumonia 1, ..., COVID-19 1], meta: { finding: ['Pneumonia', 'Viral', 'COVID-19'] } }
 */
export async function openCovid(options: CovidOptions): Promise<Dataset> {
  const opts = parseConfig(CovidOptionsSchema, options, 'COVID dataset options');
  const files = await openSource(opts.root);
  const bad = badRowSink(opts.onBadSample);
  const labels = await requireText(files, [resolveInside(opts.labelsFile, 'labelsFile')], 'COVID metadata');
  const rows = parseCovidMetadata(labels.text, `${files.root}/${labels.path}`, bad, opts);
  const present = new Set(await files.list(''));
  const entries: SampleEntry[] = [];
  for (const r of rows) {
    if (!present.has(r.path)) continue;
    const e: SampleEntry = {
      id: r.filename,
      patientId: r.patientId,
      source: 'covid',
      file: r.path,
      labels: covidLabels(r.finding),
      tasks: { cls: true, det: false, seg: false },
      meta: { viewPosition: r.view, finding: r.finding },
    };
    if (r.modality !== undefined) e.meta.modality = r.modality;
    entries.push(e);
  }
  const absent = `images are not under ${files.root}`;
  return presentDataset({ source: 'covid', files, entries, indexed: rows.length, absent, bad }, opts);
}
