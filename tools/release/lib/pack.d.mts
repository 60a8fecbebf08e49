/** Types of pack.mjs, for the TypeScript consumer tests that import it. */
export interface PackedPackage {
  name: string;
  version: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** The manifest as published (no `source` condition, no scripts). */
  manifest: Record<string, unknown>;
  /** Paths inside the tarball, relative to the package root. */
  files: string[];
}

export const npmEnv: NodeJS.ProcessEnv;
export function npm(args: string[], cwd: string, extraEnv?: Record<string, string>): string;
export function stripSourceCondition(value: unknown): unknown;
export function publishedManifest(manifest: Record<string, unknown>, shippedFiles: string[]): Record<string, unknown>;
export function packedFileLists(pkgDirs: string[]): string[][];
export function publishStageDir(pkgDir: string): string;
export function repositoryFields(pkgDir: string): {
  repository: Record<string, string>;
  homepage: string;
  bugs: Record<string, string>;
};
export function packStaged(stageDirs: string[], outDir: string): PackedPackage[];
export function stagePackage(
  pkgDir: string,
  stageDir: string,
  files?: string[],
): { manifest: Record<string, unknown>; stageDir: string; files: string[] };
export function packPackages(pkgDirs: string[], outDir: string): PackedPackage[];
export function packPackage(pkgDir: string, outDir: string): PackedPackage;
export function publishedPackageDirs(repoRoot?: string): string[];
