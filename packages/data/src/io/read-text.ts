import { DataError } from '@multichexnet/core';
import { gunzipSync, unzipSync } from 'fflate';
import type { FileSource } from './file-source';

/** A text file read from a dataset root, with the path it was found at. */
export interface FoundText {
  path: string;
  text: string;
}

/**
 * Bytes of a `.csv`, `.txt`, `.gz` or `.zip` → UTF-8 text without BOM. A zip must hold exactly one entry whose
 * name ends with `want` (default `.csv`).
 */
export function bytesToText(bytes: Uint8Array, path: string, want = '.csv'): string {
  let raw = bytes;
  try {
    if (/\.gz$/i.test(path)) {
      raw = gunzipSync(bytes);
    } else if (/\.zip$/i.test(path)) {
      const files = unzipSync(bytes, {
        filter: (f) => f.name.toLowerCase().endsWith(want) && !f.name.startsWith('__MACOSX'),
      });
      const names = Object.keys(files);
      if (names.length !== 1) {
        throw new DataError('Zip archive does not hold exactly one table', {
          file: path,
          expected: `one *${want} entry`,
          found: `${names.length}: ${names.join(', ')}`,
        });
      }
      raw = files[names[0] as string] as Uint8Array;
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(
      'Compressed file cannot be read',
      { file: path, expected: 'a valid gzip or zip file', found: String(err) },
      { cause: err },
    );
  }
  const text = new TextDecoder('utf-8').decode(raw);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Reads the first of `candidates` (paths relative to the root) that exists; null when none does.
 */
export async function readFirstText(
  source: FileSource,
  candidates: readonly string[],
  want = '.csv',
): Promise<FoundText | null> {
  for (const path of candidates) {
    if (await source.exists(path))
      return { path, text: bytesToText(await source.read(path), `${source.root}/${path}`, want) };
  }
  return null;
}

/** Like {@link readFirstText} but throws a DataError listing the candidates when none exists. */
export async function requireText(
  source: FileSource,
  candidates: readonly string[],
  what: string,
  want = '.csv',
): Promise<FoundText> {
  const found = await readFirstText(source, candidates, want);
  if (found === null) {
    throw new DataError(`${what} not found`, {
      file: source.root,
      expected: `one of ${candidates.join(', ')}`,
      found: 'none of them',
    });
  }
  return found;
}
