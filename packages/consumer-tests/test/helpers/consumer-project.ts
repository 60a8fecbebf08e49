// A consumer project: a fresh folder outside the workspace with its own package.json, installed from the packed
// tarballs (plus whatever the registry provides for their third-party dependencies), as a user's project would be.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// tools/release is not a workspace library: the tests pack with the very code the release publishes with.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { npmEnv, packPackages, type PackedPackage } from '../../../../tools/release/lib/pack.mjs';

const run = promisify(execFile);

export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const fixturesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

/** Workspace folder of a package name ('@multichexnet/head-seg' -> <root>/packages/head-seg). */
export function packageDir(name: string): string {
  return join(workspaceRoot, 'packages', name.replace('@multichexnet/', ''));
}

/**
 * Packs workspace packages (built: their dist/ must exist) into `outDir`, exactly as they would be published.
 * Fails, naming the package, when one has not been built.
 */
export function packWorkspacePackages(names: string[], outDir: string): Map<string, PackedPackage> {
  for (const name of names) {
    const dir = packageDir(name);
    if (!existsSync(join(dir, 'dist', 'index.js')) || !existsSync(join(dir, 'dist', 'index.d.ts'))) {
      throw new Error(`${name} is not built (no dist/index.js + index.d.ts in ${dir}); run \`npm run build\` first`);
    }
  }
  const packed = packPackages(names.map(packageDir), outDir);
  return new Map(packed.map((p) => [p.name, p]));
}

export interface ConsumerSpec {
  /** What the user's package.json depends on (name -> version range or file: spec). */
  dependencies: Record<string, string>;
  /**
   * npm overrides: where a transitive dependency that is not on the registry (a workspace package the user did not
   * ask for) comes from.
   */
  overrides?: Record<string, string>;
  /** The registry `@multichexnet/*` comes from (the project's .npmrc); other packages come from the default one. */
  registry?: string;
}

/**
 * Writes a consumer project: package.json (ESM), the .npmrc of `spec.registry`, and the fixture files copied from
 * `fixtures/<fixture>` when one is named.
 */
export function createConsumerProject(dir: string, spec: ConsumerSpec, fixture?: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest = {
    name: `consumer-${fixture ?? 'project'}`,
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: spec.dependencies,
    ...(spec.overrides ? { overrides: spec.overrides } : {}),
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  if (spec.registry !== undefined) writeFileSync(join(dir, '.npmrc'), `@multichexnet:registry=${spec.registry}\n`);
  if (fixture !== undefined) cpSync(join(fixturesDir, fixture), dir, { recursive: true });
}

/**
 * `npm install` in the consumer project (of `packages` when given, as `npm install <name>...` adds them), from the
 * local npm cache where it can (`--prefer-offline`); the packages' install scripts do not run (onnxruntime-node's
 * would fetch CUDA providers).
 */
export async function installConsumerProject(
  dir: string,
  packages: string[] = [],
): Promise<{ seconds: number; output: string }> {
  const t0 = performance.now();
  const { stdout, stderr } = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...packages],
    { cwd: dir, env: npmEnv, maxBuffer: 64 * 1024 * 1024 },
  );
  return { seconds: (performance.now() - t0) / 1000, output: `${stdout}${stderr}` };
}

/**
 * {@link createConsumerProject} in `<work>/project`, then {@link installConsumerProject}; logs how long the install
 * took under `label`. Returns the project folder.
 */
export async function setUpConsumerProject(
  work: string,
  spec: ConsumerSpec,
  fixture: string,
  label: string,
): Promise<string> {
  const project = join(work, 'project');
  createConsumerProject(project, spec, fixture);
  const { seconds } = await installConsumerProject(project);
  console.log(`${label}, npm install took ${seconds.toFixed(1)} s`);
  return project;
}

/** Every package folder installed in a project (nested node_modules included), with its name and version. */
function installedManifests(dir: string): { path: string; name: string; version: string }[] {
  const found: { path: string; name: string; version: string }[] = [];
  const visit = (nodeModules: string): void => {
    if (!existsSync(nodeModules)) return;
    for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(nodeModules, entry.name);
      if (entry.name.startsWith('@')) {
        for (const inner of readdirSync(full, { withFileTypes: true })) visitPackage(join(full, inner.name));
      } else {
        visitPackage(full);
      }
    }
  };
  const visitPackage = (pkgDir: string): void => {
    const manifestPath = join(pkgDir, 'package.json');
    if (existsSync(manifestPath)) {
      const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: string; version?: string };
      if (m.name !== undefined) found.push({ path: pkgDir, name: m.name, version: m.version ?? '?' });
    }
    visit(join(pkgDir, 'node_modules'));
  };
  visit(join(dir, 'node_modules'));
  return found;
}

/** Every installed copy of a package in a project: the folders under node_modules whose package.json has that name. */
export function installedCopies(dir: string, name: string): { path: string; version: string }[] {
  return installedManifests(dir)
    .filter((m) => m.name === name)
    .map(({ path, version }) => ({ path, version }));
}

/** The names of every package installed in a project, sorted, each once. */
export function installedPackages(dir: string): string[] {
  return [...new Set(installedManifests(dir).map((m) => m.name))].sort();
}

interface NpmLsNode {
  version?: string;
  resolved?: string;
  invalid?: string;
  missing?: boolean;
  problems?: string[];
  dependencies?: Record<string, NpmLsNode>;
}

/**
 * `npm ls --all --json` of the project: every (name, version) occurrence in the logical tree and npm's problems
 * (invalid, missing or extraneous packages, unmet peers). npm ls exits non-zero when it finds problems; that is
 * reported in `problems`, not thrown.
 */
export async function npmLs(dir: string): Promise<{ occurrences: Map<string, Set<string>>; problems: string[] }> {
  let stdout: string;
  try {
    ({ stdout } = await run('npm', ['ls', '--all', '--json'], { cwd: dir, env: npmEnv, maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    stdout = (err as { stdout?: string }).stdout ?? '';
  }
  const tree = JSON.parse(stdout) as NpmLsNode;
  const occurrences = new Map<string, Set<string>>();
  const walk = (node: NpmLsNode): void => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (!occurrences.has(name)) occurrences.set(name, new Set());
      occurrences.get(name)!.add(child.version ?? (child.missing ? 'MISSING' : '?'));
      walk(child);
    }
  };
  walk(tree);
  return { occurrences, problems: tree.problems ?? [] };
}

/** Runs a command in the consumer project and returns the JSON object its stdout ends with. */
export async function runInConsumer<T>(dir: string, command: string, args: string[], timeoutMs = 240_000): Promise<T> {
  const { stdout } = await run(command, args, {
    cwd: dir,
    env: npmEnv,
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(
      `${command} ${args.join(' ')} failed in ${dir}:\n${err.stderr ?? ''}\n${err.stdout ?? ''}\n${err.message}`,
    );
  });
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(lastLine) as T;
  } catch {
    throw new Error(`${command} ${args.join(' ')} printed no JSON result; stdout:\n${stdout}`);
  }
}

/** Runs a command in the consumer project; returns its exit code and output instead of throwing. */
export async function runCommand(
  dir: string,
  command: string,
  args: string[],
  timeoutMs = 240_000,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd: dir,
      env: npmEnv,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}
