import { DataError } from '@multichexnet/core';
import type { FileSource } from './file-source';
import { resolveInside } from './safe-path';

/** Anything with bytes: a Uint8Array, or a browser `Blob` / `File`. */
export type FileBytes = Uint8Array | { arrayBuffer(): Promise<ArrayBuffer> };

/**
 * A {@link FileSource} over files held in memory, e.g. a folder the user picked in the browser
 * (`webkitRelativePath` → File), or fixtures in tests.
 *
 * @example
 * const files = new Map([...input.files].map((f) => [f.webkitRelativePath.split('/').slice(1).join('/'), f]));
 * const nih = await openNih({ root: createMemorySource(files, 'picked folder') });
 */
export function createMemorySource(
  files: Map<string, FileBytes> | Record<string, FileBytes>,
  label = '(memory)',
): FileSource {
  const map = new Map<string, FileBytes>();
  const entries = files instanceof Map ? files.entries() : Object.entries(files);
  for (const [path, bytes] of entries) map.set(resolveInside(path, label), bytes);
  const sorted = [...map.keys()].sort();
  return {
    root: label,
    async read(path) {
      const f = map.get(resolveInside(path, label));
      if (f === undefined)
        throw new DataError('File not found', {
          file: `${label}/${path}`,
          expected: 'an existing file',
          found: 'nothing',
        });
      return f instanceof Uint8Array ? f : new Uint8Array(await f.arrayBuffer());
    },
    async exists(path) {
      return map.has(resolveInside(path, label));
    },
    async list(dir) {
      if (dir === '') return sorted.slice();
      const prefix = `${resolveInside(dir, label)}/`;
      return sorted.filter((p) => p.startsWith(prefix));
    },
  };
}
