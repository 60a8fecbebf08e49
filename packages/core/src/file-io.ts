/**
 * A Node built-in, imported when called. The specifier reaches `import()` as a variable with the bundlers' ignore
 * hints, so a browser bundle that takes `@multichexnet/core/base` neither resolves nor stubs it (no warning to hide).
 */
function nodeModule<T>(name: string): Promise<T> {
  const specifier = ['node', name].join(':');
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

/**
 * Writes bytes to `path` atomically: a temporary file in the same folder, fsync, then rename. A crash leaves
 * either the old file or the new one, never half of one. Node only.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const fs = await nodeModule<typeof import('node:fs/promises')>('fs/promises');
  const nodePath = await nodeModule<typeof import('node:path')>('path');
  await fs.mkdir(nodePath.dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
