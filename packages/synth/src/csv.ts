/*
 * CSV writing for the synthetic label files. Each real file has its own quirks (unquoted commas in the NIH
 * header, trailing commas, a space in the SIIM header), so lines are assembled by the dataset writers and
 * only RFC-4180 field quoting is shared.
 */

/** One field, RFC-4180 quoted when it contains a comma, a quote or a line break (quotes doubled). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Joins lines with LF and ends the file with a newline, like the real label files (empty list: empty file). */
export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
