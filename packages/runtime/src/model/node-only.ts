/**
 * Imports a module that exists only in Node (a `node:` built-in, onnxruntime-node's native addon). The specifier
 * reaches `import()` as a variable, with the bundlers' ignore hints, so a browser build of this package neither
 * resolves it nor emits a stub chunk for it: the page's bundle holds no Node module at all. (A `new Function`
 * import would hide it too, but fails inside vm-based test runners.) Call it only after checking for Node.
 */
export function importNodeOnly<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

/** Node's `fs/promises`, imported only when called. */
export const nodeFs = (): Promise<typeof import('node:fs/promises')> =>
  importNodeOnly(['node', 'fs/promises'].join(':'));

/** Node's `path`, imported only when called. */
export const nodePath = (): Promise<typeof import('node:path')> => importNodeOnly(['node', 'path'].join(':'));
