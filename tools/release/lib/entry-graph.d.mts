/** Types of entry-graph.mjs, for the TypeScript tests that import it. */
export interface ForbiddenImport {
  path: string;
  importer: string;
}
export interface EntryGraph {
  /** Modules the bundle holds (own files and node_modules files), relative to the working directory. */
  modules: string[];
  /** Packages the bundle holds, by name. */
  packages: string[];
  forbidden: ForbiddenImport[];
  /**
   * Bytes of the entry chunk (loaded with the import) and of the chunks loaded on first use, minified, for a browser.
   */
  bytes: { entry: number; lazy: number };
}
export function isForbiddenDefault(path: string): boolean;
export function walkEntry(
  specifier: string,
  options: { packageDir: string; conditions?: string[]; isForbidden?: (path: string) => boolean },
): Promise<EntryGraph>;
