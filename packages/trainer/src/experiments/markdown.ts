/** A number for a Markdown table: 3 decimals, `n/a` for NaN, `–` for not applicable. */
export function cell(v: number | undefined | null, digits = 3): string {
  if (v === undefined || v === null) return '–';
  if (!Number.isFinite(v)) return 'n/a';
  return v.toFixed(digits);
}

/** A Markdown table from a header and rows of cells. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
