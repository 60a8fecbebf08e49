import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';

/*
 * The real label files of ../shared/realdata (next to the repository), read in place: the synthetic files are
 * compared with their headers and row shapes. Absent files skip their test with a message.
 */
const realdataDir = fileURLToPath(new URL('../../../../shared/realdata/', import.meta.url));

/** Absolute path of the real file `name`, or null when this machine does not have it. */
export const realFile = (name: string): string | null => (existsSync(realdataDir + name) ? realdataDir + name : null);

/** The skip message of a test that needs the absent real file `name`. */
export const missingMessage = (name: string): string => `real file ${realdataDir}${name} is absent: test skipped`;

/** A gzipped real file as UTF-8 text. */
export const readGzText = (path: string): string => new TextDecoder().decode(gunzipSync(readFileSync(path)));
