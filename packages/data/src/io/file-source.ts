/**
 * Where a dataset's files come from. In Node, a folder on disk (`createFsSource`, the default when a loader gets a
 * string root); in a browser, files the user dropped or picked (`createMemorySource`). Paths are relative to the
 * dataset root, '/'-separated, already checked by `resolveInside`.
 */
export interface FileSource {
  /** The root, for messages (a folder path, or a label). */
  readonly root: string;
  /** Reads a whole file. Rejects with a DataError when it cannot be read. */
  read(path: string): Promise<Uint8Array>;
  /** True when the file exists. */
  exists(path: string): Promise<boolean>;
  /** Relative paths of all files under `dir` ('' = root), recursively, sorted. Empty when `dir` is absent. */
  list(dir: string): Promise<string[]>;
}
