import type { Spread } from '../transfer/stats';

/** A number for a Markdown table: `digits` decimals, `n/a` for NaN, `–` for not applicable. */
export function cell(v: number | undefined | null, digits = 3): string {
  if (v === undefined || v === null) return '–';
  if (!Number.isFinite(v)) return 'n/a';
  return v.toFixed(digits);
}

/** `mean ± std [min, max]`. */
export function spreadCell(s: Spread): string {
  if (s.n === 0) return 'n/a';
  return `${cell(s.mean)} ± ${cell(s.std)} [${cell(s.min)}, ${cell(s.max)}]`;
}

/** A Markdown table from a header and rows of cells (first column left-aligned, the rest right-aligned). */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
