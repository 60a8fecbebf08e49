import { DataError, parseConfig, z } from '@multichexnet/core';
import { readFirstText } from '../io/read-text';
import { resolveInside } from '../io/safe-path';
import { boxInside, guardRow } from './bad-rows';
import { presentDataset, type Dataset } from './dataset';
import { openLabelTable, parseLabelTable } from './label-table';
import { BaseDatasetOptionsSchema } from './options';
import { harmoniseLabels } from './pathologies';
import type { LabeledBox, SampleEntry } from './sample';

/** Options of {@link openRsna}. */
export const RsnaOptionsSchema = BaseDatasetOptionsSchema.extend({
  /** Labels relative to root; default: stage_2_train_labels.csv, or the same inside a .zip. */
  labelsFile: z.string().min(1).optional(),
  /** Folder of `<patientId>.dcm` relative to root. */
  imagesDir: z.string().min(1).default('stage_2_train_images'),
}).strict();

/** What users pass to {@link openRsna}. */
export type RsnaOptions = z.input<typeof RsnaOptionsSchema>;

/** One RSNA patient: Target and its boxes (1024 px space, top-left + size). */
export interface RsnaPatient {
  patientId: string;
  target: 0 | 1;
  boxes: LabeledBox[];
}

const LABEL_CANDIDATES = [
  'stage_2_train_labels.csv',
  'stage_2_train_labels.csv.zip',
  'kaggle_stage_2_train_labels.csv.zip',
  'stage_2_train_labels.csv.gz',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * `stage_2_train_labels.csv` text → one record per patient, in first-appearance order. Negatives have one row
 * with empty coordinates and no box; positives one row per box. A patient mixing Target values is a bad row, and
 * so is a box leaving `bounds` (the labels' pixel space) when given.
 */
export function parseRsnaLabels(
  text: string,
  file: string,
  onBad: (err: DataError) => void,
  bounds?: { width: number; height: number },
): RsnaPatient[] {
  const rows = parseLabelTable(text, file, 'Not an RSNA label file', [
    'patientId',
    'x',
    'y',
    'width',
    'height',
    'Target',
  ]);
  const byId = new Map<string, RsnaPatient>();
  const poisoned = new Set<string>();
  for (let r = 1; r < rows.length; r++) {
    const cells = (rows[r] as string[]).map((c) => c.trim());
    const row = r + 1;
    guardRow(onBad, () => {
      const bad = (field: string, expected: string, found: string): DataError =>
        new DataError('Bad RSNA label row', { file, row, field, expected, found });
      if (cells.length < 6) throw bad('(row)', '6 fields', `${cells.length} fields`);
      const [id, xs, ys, ws, hs, ts] = cells as [string, string, string, string, string, string];
      if (!UUID.test(id)) throw bad('patientId', 'a lower-case UUID', JSON.stringify(id));
      if (poisoned.has(id)) throw bad('patientId', 'a patient whose earlier rows were valid', id);
      if (ts !== '0' && ts !== '1') throw bad('Target', '0 or 1', JSON.stringify(ts));
      const target = ts === '1' ? 1 : 0;
      const prev = byId.get(id);
      if (prev !== undefined && prev.target !== target) {
        byId.delete(id);
        poisoned.add(id);
        throw bad('Target', `the same Target on every row of the patient (${prev.target})`, ts);
      }
      const p = prev ?? { patientId: id, target, boxes: [] };
      if (target === 0) {
        if ([xs, ys, ws, hs].some((v) => v !== ''))
          throw bad('x,y,width,height', 'empty for Target=0', [xs, ys, ws, hs].join(','));
      } else {
        const [x, y, w, h] = [xs, ys, ws, hs].map((v) => (v === '' ? Number.NaN : Number(v))) as [
          number,
          number,
          number,
          number,
        ];
        if (![x, y, w, h].every(Number.isFinite) || w <= 0 || h <= 0)
          throw bad('x,y,width,height', 'finite numbers, width and height > 0', [xs, ys, ws, hs].join(','));
        if (bounds !== undefined && !boxInside(x, y, w, h, bounds))
          throw bad(
            'x,y,width,height',
            `a box inside the ${bounds.width}x${bounds.height} image`,
            [xs, ys, ws, hs].join(','),
          );
        p.boxes.push({ label: 'Pneumonia', x, y, width: w, height: h });
      }
      byId.set(id, p);
    });
  }
  return [...byId.values()];
}

/** `stage_2_detailed_class_info.csv` text → class per patient (the first row of each patient). */
export function parseRsnaClassInfo(text: string, file: string): Map<string, string> {
  const rows = parseLabelTable(text, file, 'Not an RSNA class info file', ['patientId', 'class']);
  const out = new Map<string, string>();
  for (let r = 1; r < rows.length; r++) {
    const [id, cls] = (rows[r] as string[]).map((c) => c.trim());
    if (id !== undefined && cls !== undefined && !out.has(id)) out.set(id, cls);
  }
  return out;
}

/**
 * Opens the RSNA Pneumonia Detection stage-2 training set at `root`: labels (plain or zipped), optional
 * `stage_2_detailed_class_info.csv`, and `stage_2_train_images/<patientId>.dcm`. Labels: Pneumonia = Target,
 * other classes NaN; boxes in DICOM pixels (negatives have none).
 *
 * @example
 * const rsna = await openRsna({ root: '/data/rsna' });
 * const s = await rsna.get(0); // { id: '0004cfab-…', boxes: [], labels: [..., Pneumonia 0, ...], image: 1024x1024 }
 */
export async function openRsna(options: RsnaOptions): Promise<Dataset> {
  const opts = parseConfig(RsnaOptionsSchema, options, 'RSNA dataset options');
  const { files, annotationSize, bad, ...labels } = await openLabelTable(opts, LABEL_CANDIDATES, 'RSNA label file');
  const patients = parseRsnaLabels(labels.text, labels.file, bad, annotationSize);
  const classInfo = await readFirstText(files, [
    'stage_2_detailed_class_info.csv',
    'stage_2_detailed_class_info.csv.zip',
  ]);
  const classes =
    classInfo === null
      ? new Map<string, string>()
      : parseRsnaClassInfo(classInfo.text, `${files.root}/${classInfo.path}`);

  const dir = resolveInside(opts.imagesDir, 'imagesDir');
  const present = new Set((await files.list(dir)).map((p) => p.slice(dir.length + 1)));
  const entries: SampleEntry[] = [];
  for (const p of patients) {
    const name = `${p.patientId}.dcm`;
    if (!present.has(name)) continue;
    const e: SampleEntry = {
      id: p.patientId,
      patientId: p.patientId,
      source: 'rsna',
      file: `${dir}/${name}`,
      labels: harmoniseLabels({ Pneumonia: p.target }),
      boxes: p.boxes,
      annotationSize,
      tasks: { cls: true, det: true, seg: false },
      meta: {},
    };
    const c = classes.get(p.patientId);
    if (c !== undefined) e.meta.rsnaClass = c;
    entries.push(e);
  }
  const absent = `patients have no DICOM under ${files.root}/${dir}`;
  return presentDataset({ source: 'rsna', files, entries, indexed: patients.length, absent, bad }, opts);
}
