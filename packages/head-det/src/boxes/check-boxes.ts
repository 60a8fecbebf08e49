import { DataError, type Box, type ScoredBox } from '@multichexnet/core';

/** Where a list of boxes came from, for error messages. */
export interface BoxSource {
  /** Name of the list, e.g. `images[3].truth`. */
  field: string;
  /** 1-based image index, when the list belongs to one image of a batch. */
  row?: number;
}

/** Throws a DataError naming the box and field unless every box has finite coordinates and a size >= 0. */
export function checkBoxes(boxes: readonly Box[], where: BoxSource, scored = false): void {
  if (!Array.isArray(boxes)) {
    throw new DataError('Expected an array of boxes', { ...where, expected: 'Box[]', found: typeof boxes });
  }
  boxes.forEach((b, i) => {
    const fields: (keyof ScoredBox)[] = scored ? ['x', 'y', 'width', 'height', 'score'] : ['x', 'y', 'width', 'height'];
    for (const f of fields) {
      const v = (b as unknown as Record<string, unknown>)[f];
      if (typeof v !== 'number' || !Number.isFinite(v) || ((f === 'width' || f === 'height') && v < 0)) {
        throw new DataError('Invalid box', {
          row: where.row,
          field: `${where.field}[${i}].${f}`,
          expected: f === 'width' || f === 'height' ? 'a finite number >= 0' : 'a finite number',
          found: String(v),
        });
      }
    }
  });
}
