import { DataError } from '@multichexnet/core';

/**
 * Normalises a path relative to a dataset root ('/'-separated, no '.', no empty segments) and rejects any path
 * that would leave the root: absolute paths, drive letters, or '..' climbing above it. Dataset CSVs are
 * third-party input; a file name such as `../../etc/passwd` must never be read.
 *
 * @example
 * resolveInside('images/./a.png', 'metadata.csv', 12); // 'images/a.png'
 * resolveInside('../secret', 'metadata.csv', 12);      // throws DataError
 */
export function resolveInside(relPath: string, file = '(dataset)', row?: number): string {
  const context = {
    file,
    ...(row !== undefined ? { row } : {}),
    field: 'path',
    expected: 'a path inside the dataset root',
    found: JSON.stringify(relPath),
  };
  if (relPath === '' || relPath.includes('\0')) throw new DataError('Path is empty or invalid', context);
  if (/^([a-zA-Z]:)?[\\/]/.test(relPath) || /^[a-zA-Z]:/.test(relPath))
    throw new DataError('Path leaves the dataset root', context);
  const out: string[] = [];
  for (const seg of relPath.split(/[\\/]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) throw new DataError('Path leaves the dataset root', context);
      out.pop();
    } else {
      out.push(seg);
    }
  }
  if (out.length === 0) throw new DataError('Path is empty or invalid', context);
  return out.join('/');
}

/** Joins path segments with '/' (no normalisation). */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}
