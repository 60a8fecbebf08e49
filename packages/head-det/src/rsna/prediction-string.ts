import { DataError, type ScoredBox } from '@multichexnet/core';
import { checkBoxes } from '../boxes/check-boxes';

function fmt(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  // "12.5000" -> "12.5", "100.0000" -> "100": shorter strings, same value
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * Boxes -> the `PredictionString` of an RSNA submission: "confidence x y width height" repeated, separated by
 * single spaces, in the given order; an empty list gives "". Values are rounded to `decimals` (default 4).
 *
 * @example
 * toRsnaPredictionString([{ x: 264, y: 152, width: 213, height: 379, score: 0.87 }]); // "0.87 264 152 213 379"
 */
export function toRsnaPredictionString(boxes: readonly ScoredBox[], options: { decimals?: number } = {}): string {
  checkBoxes(boxes, { field: 'boxes' }, true);
  const d = options.decimals ?? 4;
  return boxes.map((b) => [b.score, b.x, b.y, b.width, b.height].map((v) => fmt(v, d)).join(' ')).join(' ');
}

/**
 * An RSNA `PredictionString` -> boxes. Empty or blank means no boxes. `where` names the file and row for errors.
 *
 * @example
 * parseRsnaPredictionString('0.5 0 0 100 100'); // [{ score: 0.5, x: 0, y: 0, width: 100, height: 100 }]
 */
export function parseRsnaPredictionString(text: string, where: { file?: string; row?: number } = {}): ScoredBox[] {
  const tokens = text.trim() === '' ? [] : text.trim().split(/\s+/);
  if (tokens.length % 5 !== 0) {
    throw new DataError('PredictionString must hold groups of 5 numbers', {
      ...where,
      field: 'PredictionString',
      expected: '"confidence x y width height" repeated',
      found: `${tokens.length} values`,
    });
  }
  const boxes: ScoredBox[] = [];
  for (let i = 0; i < tokens.length; i += 5) {
    const v = tokens.slice(i, i + 5).map((t, j) => {
      const n = Number(t);
      if (t === '' || !Number.isFinite(n)) {
        throw new DataError('PredictionString holds a value that is not a number', {
          ...where,
          field: `PredictionString value ${i + j + 1}`,
          expected: 'a finite number',
          found: JSON.stringify(t),
        });
      }
      return n;
    });
    if (v[3]! < 0 || v[4]! < 0) {
      throw new DataError('PredictionString box has a negative size', {
        ...where,
        field: `PredictionString box ${i / 5 + 1}`,
        expected: 'width and height >= 0',
        found: `${v[3]} x ${v[4]}`,
      });
    }
    boxes.push({ score: v[0]!, x: v[1]!, y: v[2]!, width: v[3]!, height: v[4]! });
  }
  return boxes;
}
