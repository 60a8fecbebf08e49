import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import Papa from 'papaparse';
import { DataError } from '@multichexnet/core';

/** One image to screen: its id (file stem unless a manifest names it) and absolute path. */
export interface InputImage {
  id: string;
  file: string;
}

const IMAGE_EXT = /\.(png|jpe?g|dcm|dicom)$/i;

/**
 * Image id of a file: its name without the image extension (RSNA patientId, SIIM ImageId, NIH Image Index stem).
 *
 * @example
 * imageIdOf('/data/rsna/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm'); // '0004cfab-14fd-4e49-80ba-63a80b6bddd6'
 */
export function imageIdOf(file: string): string {
  const name = basename(file);
  return IMAGE_EXT.test(name) ? name.slice(0, name.length - extname(name).length) : name;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: unknown) => {
    throw new DataError(
      'Cannot list a folder of images',
      { file: dir, expected: 'a readable folder', found: (e as Error).message },
      { cause: e },
    );
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && IMAGE_EXT.test(e.name)) out.push(p);
  }
}

function manifestRows(text: string, file: string): { path: string; id?: string; row: number }[] {
  const name = file.toLowerCase();
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) {
    return text.split(/\r?\n/).flatMap((line, i) => {
      if (line.trim() === '') return [];
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new DataError('Manifest line is not JSON', {
          file,
          row: i + 1,
          expected: '{"path": "...", "id": "..."}',
          found: line.slice(0, 60),
        });
      }
      const o = v as { path?: unknown; id?: unknown };
      if (typeof o?.path !== 'string' || o.path === '')
        throw new DataError('Manifest line has no path', {
          file,
          row: i + 1,
          field: 'path',
          expected: 'a non-empty string',
          found: JSON.stringify(o?.path),
        });
      if (o.id !== undefined && (typeof o.id !== 'string' || o.id === ''))
        throw new DataError('Manifest id must be a non-empty string', {
          file,
          row: i + 1,
          field: 'id',
          expected: 'a non-empty string',
          found: JSON.stringify(o.id),
        });
      return [{ path: o.path, ...(o.id !== undefined ? { id: o.id as string } : {}), row: i + 1 }];
    });
  }
  if (name.endsWith('.csv')) {
    const parsed = Papa.parse<Record<string, string>>(text, {
      header: true,
      skipEmptyLines: true,
      transformHeader: (h) => h.trim(),
    });
    const fields = parsed.meta.fields ?? [];
    const pathCol = ['path', 'file', 'filename'].find((c) => fields.includes(c));
    if (pathCol === undefined)
      throw new DataError('Manifest CSV has no path column', {
        file,
        row: 1,
        field: 'header',
        expected: 'a column named path, file or filename',
        found: fields.join(','),
      });
    return parsed.data.map((r, i) => {
      const path = (r[pathCol] ?? '').trim();
      if (path === '')
        throw new DataError('Manifest row has an empty path', {
          file,
          row: i + 2,
          field: pathCol,
          expected: 'a file path',
          found: 'empty',
        });
      const id = (r.id ?? '').trim();
      return { path, ...(id !== '' ? { id } : {}), row: i + 2 };
    });
  }
  return text.split(/\r?\n/).flatMap((line, i) => {
    const path = line.trim();
    return path === '' || path.startsWith('#') ? [] : [{ path, row: i + 1 }];
  });
}

/**
 * The images of a folder (recursive, .png .jpg .jpeg .dcm .dicom, sorted) or a manifest: a `.csv` with a `path`
 * (or `file`) column and an optional `id` column, a `.jsonl` of `{path, id?}`, or a plain list of paths (one per
 * line, `#` comments). Manifest paths are relative to the manifest's folder. Two different files may not share
 * an id (the exports key rows by id).
 *
 * @example
 * await scanInputs('data/rsna/stage_2_test_images'); // [{ id: '000924cf-…', file: '/abs/…/000924cf-….dcm' }, …]
 */
export async function scanInputs(source: string): Promise<InputImage[]> {
  const info = await stat(source).catch((e: unknown) => {
    throw new DataError(
      'Screening source not found',
      { file: source, expected: 'a folder of images or a manifest file', found: (e as Error).message },
      { cause: e },
    );
  });
  let images: (InputImage & { row?: number })[];
  if (info.isDirectory()) {
    const files: string[] = [];
    await walk(resolve(source), files);
    files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    images = files.map((file) => ({ id: imageIdOf(file), file }));
  } else {
    const base = dirname(resolve(source));
    images = manifestRows(await readFile(source, 'utf8'), source).map((r) => {
      const file = isAbsolute(r.path) ? r.path : resolve(base, r.path);
      return { id: r.id ?? imageIdOf(file), file, row: r.row };
    });
  }
  const seen = new Map<string, string>();
  const unique: InputImage[] = [];
  for (const img of images) {
    const prev = seen.get(img.id);
    if (prev === undefined) {
      seen.set(img.id, img.file);
      unique.push({ id: img.id, file: img.file });
    } else if (prev !== img.file) {
      throw new DataError('Two files have the same image id', {
        file: info.isDirectory() ? relative(resolve(source), img.file) : source,
        ...(img.row !== undefined ? { row: img.row } : {}),
        field: 'id',
        expected: 'one file per id (use a manifest with an id column)',
        found: `${img.id} for both ${prev} and ${img.file}`,
      });
    }
  }
  return unique;
}
