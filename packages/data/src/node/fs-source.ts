import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { DataError } from '@multichexnet/core';
import type { FileSource } from '../io/file-source';
import { resolveInside } from '../io/safe-path';

/**
 * A {@link FileSource} over a folder on disk (Node only). Symbolic links are followed, so a dataset root can
 * be a folder of links to files elsewhere.
 *
 * @example
 * const src = createFsSource('/data/nih');
 * const names = await src.list('images');
 */
export function createFsSource(root: string): FileSource {
  const abs = resolve(root);
  const full = (path: string): string => join(abs, ...resolveInside(path, abs).split('/'));
  return {
    root: abs,
    async read(path) {
      const p = full(path);
      try {
        const buf = await readFile(p);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (err) {
        throw new DataError(
          'File cannot be read',
          { file: p, expected: 'a readable file', found: (err as NodeJS.ErrnoException).code ?? String(err) },
          { cause: err },
        );
      }
    },
    async exists(path) {
      try {
        return (await stat(full(path))).isFile();
      } catch {
        return false;
      }
    },
    async list(dir) {
      const start = dir === '' ? abs : full(dir);
      const out: string[] = [];
      await walk(start, abs, out);
      return out.sort();
    },
  };
}

async function walk(dir: string, root: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const subdirs: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const s = await stat(p);
        isDir = s.isDirectory();
        isFile = s.isFile();
      } catch {
        continue;
      }
    }
    if (isFile) out.push(relative(root, p).split(sep).join('/'));
    else if (isDir) subdirs.push(p);
  }
  for (const d of subdirs) await walk(d, root, out);
}
