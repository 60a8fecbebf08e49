import { writeFileAtomic } from '@multichexnet/core';

/**
 * How a table's JSON writes a number that is not finite: as its string (`"NaN"`: Tables 1 and 2) or as null
 * (Tables 3 and 4).
 */
export type NonFinite = 'string' | 'null';

/** Writes `<out>/<name>.json` and `<out>/<name>.md` (atomically). */
export async function writeTable(
  out: string,
  name: string,
  json: unknown,
  markdown: string,
  nonFinite: NonFinite,
): Promise<{ json: string; markdown: string }> {
  const { join } = await import('node:path');
  const files = { json: join(out, `${name}.json`), markdown: join(out, `${name}.md`) };
  const replacer = (_k: string, v: unknown): unknown =>
    typeof v === 'number' && !Number.isFinite(v) ? (nonFinite === 'string' ? String(v) : null) : v;
  await writeFileAtomic(files.json, `${JSON.stringify(json, replacer, 2)}\n`);
  await writeFileAtomic(files.markdown, markdown);
  return files;
}

/**
 * Writes a finished table (`table1` ... `table4`) into `out` and says so on the experiment's event stream, with the
 * call's total seconds; returns the table.
 */
export async function publishTable<T extends { markdown: string }>(
  emit: (e: { type: 'experiment'; stage: 'tables'; message: string }) => void,
  out: string,
  name: string,
  table: T,
  seconds: number,
  nonFinite: NonFinite,
): Promise<T> {
  await writeTable(out, name, table, table.markdown, nonFinite);
  emit({
    type: 'experiment',
    stage: 'tables',
    message: `Table ${name.replace(/^table/, '')} written to ${out}/${name}.md (${seconds.toFixed(0)} s)`,
  });
  return table;
}
