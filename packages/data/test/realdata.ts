import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';

/** `<repoRoot>/../shared/realdata`, computed from this file's location (tests read the real files in place). */
export const REALDATA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'realdata');

/** Absolute path of a real file, or null when it is absent (the caller skips with a message). */
export function realFile(name: string): string | null {
  const p = join(REALDATA, name);
  return existsSync(p) ? p : null;
}

/** Why a real-data test is skipped. */
export function missingMessage(name: string): string {
  return `real file ${join(REALDATA, name)} is absent: test skipped`;
}

/** Reads a .gz real file as UTF-8 text. */
export function readGzText(path: string): string {
  return new TextDecoder().decode(gunzipSync(readFileSync(path)));
}
