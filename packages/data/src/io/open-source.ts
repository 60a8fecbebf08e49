import type { FileSource } from './file-source';

/**
 * A string root means a folder on disk: the Node-only fs source is imported on demand, so browser bundles that
 * always pass a {@link FileSource} never pull in `node:fs`.
 */
export async function openSource(root: string | FileSource): Promise<FileSource> {
  if (typeof root !== 'string') return root;
  const { createFsSource } = await import('../node/fs-source');
  return createFsSource(root);
}
