import { DataError, parseConfig, z } from '@multichexnet/core';
import { RLE_EMPTY } from '../codecs/rle';
import { resolveInside } from '../io/safe-path';
import { guardRow } from './bad-rows';
import { presentDataset, type Dataset } from './dataset';
import { openLabelTable, parseLabelTable } from './label-table';
import { BaseDatasetOptionsSchema } from './options';
import { harmoniseLabels } from './pathologies';
import type { SampleEntry } from './sample';

/** Options of {@link openSiim}. */
export const SiimOptionsSchema = BaseDatasetOptionsSchema.extend({
  /** RLE table relative to root; default: train-rle.csv, stage_2_train.csv (or .gz). */
  labelsFile: z.string().min(1).optional(),
  /** Folder walked for `<ImageId>.dcm`, relative to root ('' = the whole root). */
  imagesDir: z.string().default(''),
}).strict();

/** What users pass to {@link openSiim}. */
export type SiimOptions = z.input<typeof SiimOptionsSchema>;

/** One SIIM image: its instance RLE strings (empty list = no pneumothorax). */
export interface SiimImage {
  imageId: string;
  rles: string[];
}

const LABEL_CANDIDATES = [
  'train-rle.csv',
  'stage_2_train.csv',
  'train-rle.csv.gz',
  'siim-pneumothorax-train-rle.csv.gz',
  'stage_2_train.csv.gz',
];
const RLE_SHAPE = /^\d+( \d+)*$/;

/**
 * `train-rle.csv` text (header `ImageId, EncodedPixels`, spaces trimmed) → one record per image in
 * first-appearance order; its rows are separate instances, to be OR-ed. `-1` means no pneumothorax. A run that
 * overflows a `bounds` mask (the labels' pixel space) when given is a bad row.
 */
export function parseSiimRle(
  text: string,
  file: string,
  onBad: (err: DataError) => void,
  bounds?: { width: number; height: number },
): SiimImage[] {
  const rows = parseLabelTable(
    text,
    file,
    'Not a SIIM RLE file',
    ['ImageId', 'EncodedPixels'],
    'ImageId, EncodedPixels',
  );
  const byId = new Map<string, SiimImage>();
  for (let r = 1; r < rows.length; r++) {
    const cells = (rows[r] as string[]).map((c) => c.trim());
    const row = r + 1;
    guardRow(onBad, () => {
      const [id, rle] = cells as [string, string | undefined];
      if (!/^[0-9.]+$/.test(id))
        throw new DataError('Bad SIIM RLE row', {
          file,
          row,
          field: 'ImageId',
          expected: 'a DICOM UID',
          found: JSON.stringify(id),
        });
      if (rle === undefined || (rle !== RLE_EMPTY && (!RLE_SHAPE.test(rle) || rle.split(' ').length % 2 !== 0))) {
        throw new DataError('Bad SIIM RLE row', {
          file,
          row,
          field: 'EncodedPixels',
          expected: '-1 or pairs of integers',
          found: JSON.stringify((rle ?? '').slice(0, 40)),
        });
      }
      if (bounds !== undefined && rle !== RLE_EMPTY) {
        // starts are relative: the last run ends at the sum of every start and length
        const end = rle.split(' ').reduce((a, v) => a + Number(v), 0);
        const total = bounds.width * bounds.height;
        if (end > total)
          throw new DataError('Bad SIIM RLE row', {
            file,
            row,
            field: 'EncodedPixels',
            expected: `runs within ${bounds.width}x${bounds.height} = ${total} pixels`,
            found: `a run ending at ${end}`,
          });
      }
      const img = byId.get(id) ?? { imageId: id, rles: [] };
      if (rle !== RLE_EMPTY) img.rles.push(rle);
      byId.set(id, img);
    });
  }
  return [...byId.values()];
}

/**
 * Opens SIIM-ACR Pneumothorax at `root`: the RLE table, and DICOMs found by walking the tree
 * (`dicom-images-train/<study>/<series>/<ImageId>.dcm`). Labels: Pneumothorax = any instance, others NaN;
 * `mask` is the OR of the instances. `patientId` is the ImageId (the SIIM CSV has no patient column and the
 * DICOM PatientID is PHI).
 *
 * @example
 * const siim = await openSiim({ root: '/data/siim' });
 * const s = await siim.get(0); // { mask: { width: 1024, height: 1024, data }, labels: [..., Pneumothorax 1, ...] }
 */
export async function openSiim(options: SiimOptions): Promise<Dataset> {
  const opts = parseConfig(SiimOptionsSchema, options, 'SIIM dataset options');
  const { files, annotationSize, bad, ...labels } = await openLabelTable(opts, LABEL_CANDIDATES, 'SIIM RLE file');
  const images = parseSiimRle(labels.text, labels.file, bad, annotationSize);
  const dir = opts.imagesDir === '' ? '' : resolveInside(opts.imagesDir, 'imagesDir');
  const where = new Map<string, string>();
  for (const p of await files.list(dir)) {
    if (!p.toLowerCase().endsWith('.dcm')) continue;
    const stem = p.slice(p.lastIndexOf('/') + 1, -4);
    if (!where.has(stem)) where.set(stem, p);
  }
  const entries: SampleEntry[] = [];
  for (const img of images) {
    const p = where.get(img.imageId);
    if (p === undefined) continue;
    entries.push({
      id: img.imageId,
      patientId: img.imageId,
      source: 'siim',
      file: p,
      labels: harmoniseLabels({ Pneumothorax: img.rles.length > 0 ? 1 : 0 }),
      maskRle: img.rles,
      annotationSize,
      tasks: { cls: true, det: false, seg: true },
      meta: {},
    });
  }
  const absent = `images have no DICOM under ${files.root}`;
  return presentDataset({ source: 'siim', files, entries, indexed: images.length, absent, bad }, opts);
}
