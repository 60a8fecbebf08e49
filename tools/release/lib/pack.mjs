// Packs a workspace package the way it is published: the files `npm pack` would take, with a manifest that
// keeps only what a consumer needs. The same tarball is checked (publint, attw, declaration imports), installed by
// the consumer tests and published by `npm run release -- --publish`, so what is tested is what ships.
//
// Why a staged copy instead of `npm pack` in the package folder: the workspace manifest carries the `source`
// export condition (tests and `tsc` resolve sibling packages to their src/ through it). Published, that condition
// would point at files the tarball does not hold, and any consumer whose own tooling enables a condition named
// `source` (a common monorepo convention) would fail to resolve the package. npm has no publishConfig override
// for `exports`, and editing package.json in place would race with the other people working in this tree, so
// the manifest is rewritten in a temporary copy.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The licence every package ships: the repository's LICENSE, copied into a package that has none of its own. */
const LICENSE_FILE = 'LICENSE';

/**
 * npm's environment: no update notices, no audit. The lower-case `npm_*` variables a surrounding `npm run` sets for
 * its scripts (npm_config_local_prefix, npm_package_*, ...) are dropped, so a child npm never acts on the workspace
 * that started it; upper-case ones the user set (NPM_CONFIG_USERCONFIG, NPM_TOKEN) are kept.
 */
export const npmEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/.test(k))),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  ONNXRUNTIME_NODE_INSTALL: 'skip',
};

/** Runs npm with arguments and returns its stdout. */
export function npm(args, cwd, extraEnv = {}) {
  return execFileSync('npm', args, {
    cwd,
    env: { ...npmEnv, ...extraEnv },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The last JSON value in npm's stdout (npm may print notices before it). */
function parseNpmJson(stdout) {
  const start = stdout.search(/^[[{]/m);
  if (start < 0) throw new Error(`npm printed no JSON:\n${stdout}`);
  return JSON.parse(stdout.slice(start));
}

/** Drops every `source` condition from an exports value, recursively. */
export function stripSourceCondition(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'source') continue;
    out[key] = stripSourceCondition(inner);
  }
  return out;
}

/**
 * The manifest as published: no `source` conditions, no workspace-only fields (`scripts`, `nx`, `devDependencies`),
 * `sideEffects` entries only for files the tarball holds.
 */
export function publishedManifest(manifest, shippedFiles) {
  const out = { ...manifest };
  out.exports = stripSourceCondition(manifest.exports);
  delete out.scripts;
  delete out.nx;
  delete out.devDependencies;
  if (Array.isArray(manifest.sideEffects)) {
    const shipped = new Set(shippedFiles.map((f) => `./${f}`));
    out.sideEffects = manifest.sideEffects.filter((f) => shipped.has(f.startsWith('./') ? f : `./${f}`));
  }
  return out;
}

/** Files `npm pack` takes from each package folder (paths relative to it), with one npm call for all of them. */
export function packedFileLists(pkgDirs) {
  const dirs = pkgDirs.map((d) => resolve(d));
  const infos = parseNpmJson(npm(['pack', '--dry-run', '--json', '--ignore-scripts', ...dirs], dirs[0]));
  return infos.map((info) => info.files.map((f) => f.path));
}

/**
 * Where `check-package` stages a package for publishing, and where `nx release publish` publishes it from
 * (nx.json: the `check-package` output and the `nx-release-publish` packageRoot): dist/publish/<package folder>.
 */
export function publishStageDir(pkgDir) {
  return join(workspaceRoot, 'dist', 'publish', relative(workspaceRoot, resolve(pkgDir)));
}

/**
 * The `repository`, `homepage` and `bugs` fields of the package in `pkgDir`, from the root package.json's (the one
 * place the repository's address is written): the repository with the package's folder as `directory`, the
 * package's README on the repository's web page as homepage.
 */
export function repositoryFields(pkgDir) {
  const rootManifest = JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8'));
  const directory = relative(workspaceRoot, resolve(pkgDir)).split('\\').join('/');
  const web = rootManifest.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  return {
    repository: { ...rootManifest.repository, directory },
    homepage: `${web}/tree/main/${directory}#readme`,
    bugs: rootManifest.bugs,
  };
}

/**
 * Copies the publishable files of `pkgDir` into `stageDir` with the published manifest, and the repository's
 * LICENSE when the package has none. Fails when the package has not been built (no dist/). `files` skips the
 * `npm pack --dry-run` that lists them.
 */
export function stagePackage(pkgDir, stageDir, files = packedFileLists([pkgDir])[0]) {
  pkgDir = resolve(pkgDir);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (!existsSync(join(pkgDir, 'dist'))) {
    throw new Error(`${manifest.name}: no dist/ in ${pkgDir}; build first (npx nx run-many -t build)`);
  }
  const shipped = files.filter((f) => f !== 'package.json');
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });
  for (const file of shipped) {
    mkdirSync(dirname(join(stageDir, file)), { recursive: true });
    cpSync(join(pkgDir, file), join(stageDir, file));
  }
  if (!shipped.some((f) => /^licen[cs]e(\.|$)/i.test(f))) {
    cpSync(join(workspaceRoot, LICENSE_FILE), join(stageDir, LICENSE_FILE));
    shipped.push(LICENSE_FILE);
  }
  writeFileSync(join(stageDir, 'package.json'), JSON.stringify(publishedManifest(manifest, shipped), null, 2) + '\n');
  return { manifest, stageDir, files: shipped };
}

/**
 * Packs staged package folders (see {@link stagePackage}) into `outDir` with one npm call and returns, in order, each
 * tarball's absolute path with its published manifest.
 */
export function packStaged(stageDirs, outDir) {
  mkdirSync(outDir, { recursive: true });
  const infos = parseNpmJson(
    npm(
      ['pack', ...stageDirs, '--json', '--ignore-scripts', '--pack-destination', resolve(outDir)],
      dirname(resolve(outDir)),
    ),
  );
  return stageDirs.map((dir, i) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return {
      name: manifest.name,
      version: manifest.version,
      tarball: join(resolve(outDir), infos[i].filename),
      manifest,
      files: infos[i].files.map((f) => f.path),
    };
  });
}

/**
 * Packs workspace packages into `outDir` (two npm calls in all, however many packages) and returns, in order, each
 * tarball's absolute path with its published manifest.
 */
export function packPackages(pkgDirs, outDir) {
  const work = mkdtempSync(join(tmpdir(), 'mcx-stage-'));
  try {
    const lists = packedFileLists(pkgDirs);
    const staged = pkgDirs.map((dir, i) => stagePackage(dir, join(work, String(i)), lists[i]));
    return packStaged(
      staged.map((s) => s.stageDir),
      outDir,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Packs one workspace package into `outDir`; see {@link packPackages}. */
export function packPackage(pkgDir, outDir) {
  return packPackages([pkgDir], outDir)[0];
}

/**
 * The published packages: every folder of packages/ whose package.json is not private, by folder name (sorted). The
 * one list the release scripts (README examples, doc shapes) and the registry test go by, so a new package is in
 * it from its first commit.
 */
export function publishedPackageDirs(repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')) {
  const packages = join(repoRoot, 'packages');
  return readdirSync(packages)
    .filter((d) => existsSync(join(packages, d, 'package.json')))
    .filter((d) => JSON.parse(readFileSync(join(packages, d, 'package.json'), 'utf8')).private !== true)
    .sort();
}
