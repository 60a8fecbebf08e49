import { DataError } from '@multichexnet/core';
import { parseCsvRows } from '../csv/parse-csv';
import type { FileSource } from '../io/file-source';
import { openSource } from '../io/open-source';
import { requireText } from '../io/read-text';
import { resolveInside } from '../io/safe-path';
import { resolveAnnotationSize } from './annotation-size';
import { badRowSink, type BadRowSink } from './bad-rows';
import type { BadSamplePolicy } from './dataset';

/** What a loader with one label table opens first. */
export interface OpenedLabelTable {
  files: FileSource;
  /** Pixel space of the table's boxes and masks. */
  annotationSize: { width: number; height: number };
  bad: BadRowSink;
  /** The table's text. */
  text: string;
  /** Its path under the root. */
  path: string;
  /** Its path as error messages name it (`<root>/<path>`). */
  file: string;
}

/**
 * Opens a dataset folder with one label table: its files, the labels' pixel space, the bad-row policy, and the table
 * (`labelsFile` when given, else the first of `candidates` present; `what` names it when none is).
 */
export async function openLabelTable(
  opts: {
    root: string | FileSource;
    onBadSample: BadSamplePolicy;
    annotationSize: number | 'auto';
    labelsFile?: string | undefined;
  },
  candidates: readonly string[],
  what: string,
): Promise<OpenedLabelTable> {
  const files = await openSource(opts.root);
  const annotationSize = await resolveAnnotationSize(files, opts.annotationSize);
  const bad = badRowSink(opts.onBadSample);
  const labels = await requireText(
    files,
    opts.labelsFile !== undefined ? [resolveInside(opts.labelsFile, 'labelsFile')] : candidates,
    what,
  );
  return { files, annotationSize, bad, text: labels.text, path: labels.path, file: `${files.root}/${labels.path}` };
}

/**
 * The rows of a label table whose header starts with `columns` (trimmed); otherwise a DataError `problem` naming the
 * file, row 1 and the header found (`expected` says what was wanted, the columns joined by commas by default).
 */
export function parseLabelTable(
  text: string,
  file: string,
  problem: string,
  columns: readonly string[],
  expected = columns.join(','),
): string[][] {
  const rows = parseCsvRows(text, file);
  const header = (rows[0] ?? []).map((h) => h.trim());
  if (columns.some((c, i) => header[i] !== c))
    throw new DataError(problem, { file, row: 1, field: 'header', expected, found: header.join(',') });
  return rows;
}
