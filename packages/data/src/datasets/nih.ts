import { CHESTXRAY14_CLASSES, DataError, parseConfig, z } from '@multichexnet/core';
import { parseCsvRows } from '../csv/parse-csv';
import { readFirstText } from '../io/read-text';
import { resolveInside } from '../io/safe-path';
import { boxInside, guardRow } from './bad-rows';
import { presentDataset, type Dataset } from './dataset';
import { openLabelTable, parseLabelTable } from './label-table';
import { BaseDatasetOptionsSchema } from './options';
import { harmoniseLabels, isPathology, type Pathology } from './pathologies';
import type { LabeledBox, SampleEntry } from './sample';

/** Options of {@link openNih}. */
export const NihOptionsSchema = BaseDatasetOptionsSchema.extend({
  /** Label index relative to root; default: the first of Data_Entry_2017_v2020.csv, Data_Entry_2017.csv (or .gz). */
  labelsFile: z.string().min(1).optional(),
  /** BBox_List_2017.csv relative to root (or .gz); `false` ignores boxes. Default: used when present. */
  bboxFile: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** Expose `demographics` (age in years, sex) on each sample. Off by default: both are PHI in DICOM terms. */
  demographics: z.boolean().default(false),
}).strict();

/** What users pass to {@link openNih}. */
export type NihOptions = z.input<typeof NihOptionsSchema>;

const LABEL_CANDIDATES = [
  'Data_Entry_2017_v2020.csv',
  'Data_Entry_2017.csv',
  'Data_Entry_2017_v2020.csv.gz',
  'Data_Entry_2017.csv.gz',
];
const BBOX_CANDIDATES = ['BBox_List_2017.csv', 'BBox_List_2017.csv.gz'];
const NIH_SIZE = { width: 1024, height: 1024 };
const NIH_LABELS: ReadonlySet<string> = new Set(CHESTXRAY14_CLASSES);

function columnIndex(header: string[], names: readonly string[], file: string): number {
  for (const n of names) {
    const i = header.indexOf(n);
    if (i >= 0) return i;
  }
  throw new DataError('NIH label index lacks a column', {
    file,
    row: 1,
    field: names.join(' / '),
    expected: 'present in the header',
    found: header.join(','),
  });
}

/** `58` or DICOM-AS style `058Y` / `011M` / `003W` / `020D` → years. */
export function parseNihAge(value: string): number | null {
  if (/^\d+$/.test(value)) return Number(value);
  const m = /^(\d{3})([DWMY])$/.exec(value);
  if (m === null) return null;
  const n = Number(m[1]);
  return m[2] === 'Y' ? n : m[2] === 'M' ? n / 12 : m[2] === 'W' ? (n * 7) / 365.25 : n / 365.25;
}

/**
 * `Data_Entry_2017*.csv` text → one entry per row (file = `images/<Image Index>` until the images are found).
 *
 * Accepts both headers (`Patient Gender` or `Patient Sex`, with or without the trailing empty column), ages as
 * `58` or `058Y`, and `Finding Labels` as an unordered `|`-set of exact tokens; `No Finding` alone means all 14
 * labels 0. A bad row goes to `onBad` (which throws or counts).
 */
export function parseNihIndex(
  text: string,
  file: string,
  onBad: (err: DataError) => void,
  options: { demographics?: boolean } = {},
): SampleEntry[] {
  const rows = parseCsvRows(text, file);
  const header = (rows[0] ?? []).map((h) => h.trim());
  if (header[0] !== 'Image Index') {
    throw new DataError('Not an NIH label index', {
      file,
      row: 1,
      field: 'header',
      expected: 'first column "Image Index"',
      found: JSON.stringify(header[0] ?? ''),
    });
  }
  const cImage = 0;
  const cFind = columnIndex(header, ['Finding Labels'], file);
  const cFollow = columnIndex(header, ['Follow-up #'], file);
  const cPatient = columnIndex(header, ['Patient ID'], file);
  const cAge = columnIndex(header, ['Patient Age'], file);
  const cSex = columnIndex(header, ['Patient Gender', 'Patient Sex'], file);
  const cView = columnIndex(header, ['View Position'], file);
  const cSize = header.indexOf('OriginalImage[Width');
  const cSpacing = header.indexOf('OriginalImagePixelSpacing[x');
  let named = header.length;
  while (named > 0 && header[named - 1] === '') named--;
  const entries: SampleEntry[] = [];
  for (let r = 1; r < rows.length; r++) {
    const cells = rows[r] as string[];
    const row = r + 1;
    const entry = guardRow(onBad, () => {
      const bad = (field: string, expected: string, found: string): DataError =>
        new DataError('Bad NIH label row', { file, row, field, expected, found });
      if (cells.length < named || cells.slice(named).some((c) => c.trim() !== '')) {
        throw bad('(row)', `${named} fields (plus an optional empty one)`, `${cells.length} fields`);
      }
      const id = (cells[cImage] as string).trim();
      if (!/\.png$/i.test(id)) throw bad('Image Index', 'a .png file name', JSON.stringify(id));
      const tokens = (cells[cFind] as string).split('|');
      const found = new Set<string>();
      for (const t of tokens) {
        if (t === 'No Finding') {
          if (tokens.length !== 1) throw bad('Finding Labels', '"No Finding" alone', JSON.stringify(cells[cFind]));
        } else if (NIH_LABELS.has(t)) {
          found.add(t);
        } else {
          throw bad('Finding Labels', `tokens of ${CHESTXRAY14_CLASSES.join('|')} or "No Finding"`, JSON.stringify(t));
        }
      }
      const known: Partial<Record<Pathology, number>> = {};
      for (const c of CHESTXRAY14_CLASSES) known[c] = found.has(c) ? 1 : 0;
      const followUp = Number(cells[cFollow]);
      if (!/^\d+$/.test((cells[cFollow] as string).trim()))
        throw bad('Follow-up #', 'an integer', JSON.stringify(cells[cFollow]));
      const patientId = (cells[cPatient] as string).trim();
      if (!/^\d+$/.test(patientId)) throw bad('Patient ID', 'an integer', JSON.stringify(patientId));
      const ageText = (cells[cAge] as string).trim();
      const age = parseNihAge(ageText);
      if (age === null) throw bad('Patient Age', '58 or 058Y', JSON.stringify(ageText));
      const view = (cells[cView] as string).trim();
      const e: SampleEntry = {
        id,
        patientId,
        source: 'nih',
        file: `images/${id}`,
        labels: harmoniseLabels(known),
        annotationSize: NIH_SIZE,
        tasks: { cls: true, det: false, seg: false },
        meta: { viewPosition: view, followUp },
      };
      if (cSize >= 0) {
        const w = Number(cells[cSize]);
        const h = Number(cells[cSize + 1]);
        if (Number.isFinite(w) && Number.isFinite(h) && w > 0 && h > 0) e.meta.originalSize = [w, h];
      }
      if (cSpacing >= 0) {
        const sx = Number(cells[cSpacing]);
        const sy = Number(cells[cSpacing + 1]);
        if (Number.isFinite(sx) && Number.isFinite(sy) && sx > 0 && sy > 0) e.meta.pixelSpacing = [sx, sy];
      }
      if (options.demographics === true) e.demographics = { ageYears: age, sex: (cells[cSex] as string).trim() };
      return e;
    });
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/**
 * `BBox_List_2017.csv` text → boxes per image name (1024 px space; `Infiltrate` renamed `Infiltration`). A box
 * leaving `bounds` (the labels' pixel space) when given is a bad row.
 */
export function parseNihBoxes(
  text: string,
  file: string,
  onBad: (err: DataError) => void,
  bounds?: { width: number; height: number },
): Map<string, LabeledBox[]> {
  const rows = parseLabelTable(
    text,
    file,
    'Not an NIH BBox list',
    ['Image Index', 'Finding Label'],
    'Image Index,Finding Label,Bbox [x,y,w,h]',
  );
  const out = new Map<string, LabeledBox[]>();
  for (let r = 1; r < rows.length; r++) {
    const cells = rows[r] as string[];
    const row = r + 1;
    guardRow(onBad, () => {
      const bad = (field: string, expected: string, found: string): DataError =>
        new DataError('Bad NIH BBox row', { file, row, field, expected, found });
      if (cells.length < 6 || cells.slice(6).some((c) => c.trim() !== ''))
        throw bad('(row)', '6 fields', `${cells.length} fields`);
      const id = (cells[0] as string).trim();
      const raw = (cells[1] as string).trim();
      const label = raw === 'Infiltrate' ? 'Infiltration' : raw;
      if (!isPathology(label) || !NIH_LABELS.has(label))
        throw bad('Finding Label', 'a ChestX-ray14 label', JSON.stringify(raw));
      const [x, y, w, h] = cells.slice(2, 6).map((c) => Number(c.trim())) as [number, number, number, number];
      if (![x, y, w, h].every(Number.isFinite) || w <= 0 || h <= 0)
        throw bad('Bbox [x,y,w,h]', 'finite numbers, w and h > 0', cells.slice(2, 6).join(','));
      if (bounds !== undefined && !boxInside(x, y, w, h, bounds))
        throw bad(
          'Bbox [x,y,w,h]',
          `a box inside the ${bounds.width}x${bounds.height} image`,
          cells.slice(2, 6).join(','),
        );
      const list = out.get(id) ?? [];
      list.push({ label, x, y, width: w, height: h });
      out.set(id, list);
    });
  }
  return out;
}

/** `train_val_list.txt` / `test_list.txt` → image names (CRLF and blank lines tolerated). */
export function parseNameList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

const NIH_IMAGE_DIR = /^(?:images(?:_\d+)?\/)?(?:images\/)?[^/]+\.png$/i;

/**
 * Opens NIH ChestX-ray14 at `root`: the label index, BBox_List when present, the official split files when
 * present, and the images under `images/*.png` or the Kaggle layout `images_0NN/images/*.png`.
 * Images missing on disk are counted in `missing` and left out.
 *
 * @example
 * const nih = await openNih({ root: '/data/nih' });
 * console.log(nih.size, nih.missing); // 112120 0
 * const s = await nih.get(0);         // { id: '00000001_000.png', labels: Float32Array(15), image, ... }
 */
export async function openNih(options: NihOptions): Promise<Dataset> {
  const opts = parseConfig(NihOptionsSchema, options, 'NIH dataset options');
  const { files, annotationSize, bad, ...labelsText } = await openLabelTable(opts, LABEL_CANDIDATES, 'NIH label index');
  const all = parseNihIndex(labelsText.text, labelsText.file, bad, { demographics: opts.demographics });

  if (opts.bboxFile !== false) {
    const boxText = await readFirstText(
      files,
      opts.bboxFile !== undefined ? [resolveInside(opts.bboxFile, 'bboxFile')] : BBOX_CANDIDATES,
    );
    if (boxText !== null) {
      const boxes = parseNihBoxes(boxText.text, `${files.root}/${boxText.path}`, bad, annotationSize);
      for (const e of all) {
        const b = boxes.get(e.id);
        if (b !== undefined) e.boxes = b;
      }
    }
  }

  const trainVal = await readFirstText(files, ['train_val_list.txt'], '.txt');
  const test = await readFirstText(files, ['test_list.txt'], '.txt');
  if (trainVal !== null || test !== null) {
    const split = new Map<string, 'trainval' | 'test'>();
    for (const n of trainVal === null ? [] : parseNameList(trainVal.text)) split.set(n, 'trainval');
    for (const n of test === null ? [] : parseNameList(test.text)) split.set(n, 'test');
    for (const e of all) {
      const s = split.get(e.id);
      if (s !== undefined) e.meta.officialSplit = s;
    }
  }

  const where = new Map<string, string>();
  for (const p of await files.list('')) {
    if (!NIH_IMAGE_DIR.test(p)) continue;
    const name = p.slice(p.lastIndexOf('/') + 1);
    if (!where.has(name)) where.set(name, p);
  }
  const present: SampleEntry[] = [];
  for (const e of all) {
    const p = where.get(e.id);
    if (p === undefined) continue;
    e.file = resolveInside(p, labelsText.path);
    present.push(e);
  }
  for (const e of present) e.annotationSize = annotationSize;
  const absent = `indexed images are not under ${files.root}`;
  return presentDataset({ source: 'nih', files, entries: present, indexed: all.length, absent, bad }, opts);
}
