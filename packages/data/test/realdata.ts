import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';
import { it } from 'vitest';

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

/**
 * A test of the real file `name`: `body` gets its path; without the file the test is skipped and its title says so
 * ({@link missingMessage}).
 */
export function itOnRealFile(name: string, title: string, body: (path: string) => unknown): void {
  const path = realFile(name);
  it.skipIf(path === null)(path === null ? missingMessage(name) : title, async () => {
    await body(path as string);
  });
}
