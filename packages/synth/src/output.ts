/*
 * File output of the generator (Node only; node:fs is imported lazily so the package still loads in a browser).
 */

/** Writes files under one folder, creating sub-folders once. */
export interface FileSink {
  write(relativePath: string, data: Uint8Array | string): Promise<void>;
}

/** A sink rooted at `root`. */
export async function createFileSink(root: string): Promise<FileSink> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const made = new Set<string>();
  return {
    async write(relativePath, data) {
      const full = path.join(root, relativePath);
      const dir = path.dirname(full);
      if (!made.has(dir)) {
        await fs.mkdir(dir, { recursive: true });
        made.add(dir);
      }
      await fs.writeFile(full, data);
    },
  };
}

/** Reports progress after each written image. */
export type Tick = () => void;
