// A local npm registry for the consumer tests (Verdaccio, see registry-server.mjs) and the workspace published to it
// the way a release publishes: `nx release publish` (nx.json: each package's `check-package` stages and checks it in
// dist/publish/, then nx runs `npm publish` of that folder).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// tools/release is not a workspace library: the tests publish with the very configuration the release uses.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { npmEnv } from '../../../../tools/release/lib/pack.mjs';
import { workspaceRoot } from './consumer-project';

const run = promisify(execFile);

export interface LocalRegistry {
  /** http://127.0.0.1:<port>/ */
  url: string;
  /** An npm user config with a token for the registry (npm publish wants one; the registry takes any). */
  userconfig: string;
  stop(): Promise<void>;
}

/** Starts a registry with its storage in `dir` (created); resolves once it listens. */
export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  mkdirSync(dir, { recursive: true });
  const script = join(dirname(fileURLToPath(import.meta.url)), 'registry-server.mjs');
  const child: ChildProcess = spawn(process.execPath, [script, dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        reject(new Error(`the registry printed ${line}`));
      }
    });
    // later lines (errors only) are read and dropped so that a full pipe never stalls the server
    lines.on('line', () => {});
    child.once('exit', (code) => reject(new Error(`the registry exited (${code}) before listening:\n${stderr}`)));
  });
  const userconfig = join(dir, 'npmrc');
  writeFileSync(userconfig, `//${new URL(url).host}/:_authToken=consumer-test\n`);
  return {
    url,
    userconfig,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The packages whose README a user follows from the local registry in registry-consumer.test.ts (install + example).
 */
export const README_FOLLOWED = ['head-det', 'runtime'];

/** Names and versions of the workspace packages a release publishes: every non-private package under packages/. */
export function publishableWorkspacePackages(): { name: string; version: string; dir: string }[] {
  const dirs = readdirSync(join(workspaceRoot, 'packages')).map((d) => join(workspaceRoot, 'packages', d));
  return dirs
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((d) => ({
      dir: d,
      ...(JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
        private?: boolean;
      }),
    }))
    .filter((m) => m.private !== true)
    .map(({ name, version, dir }) => ({ name, version, dir }));
}

/**
 * `nx release publish --registry <url>` from the workspace root, with the registry's token in the npm user config.
 * nx runs each package's `check-package` first (its build is cached by then), then publishes the staged folders.
 * The surrounding Nx task's variables are dropped: this is a separate nx invocation.
 */
export async function publishWorkspace(registry: LocalRegistry): Promise<{ seconds: number; output: string }> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(npmEnv).filter(([k]) => !k.startsWith('NX_')));
  Object.assign(env, {
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NPM_CONFIG_USERCONFIG: registry.userconfig,
  });
  const nx = join(workspaceRoot, 'node_modules', '.bin', 'nx');
  const t0 = performance.now();
  try {
    const { stdout, stderr } = await run(
      nx,
      ['release', 'publish', `--registry=${registry.url}`, '--outputStyle=static'],
      {
        cwd: workspaceRoot,
        env,
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    return { seconds: (performance.now() - t0) / 1000, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-60).join('\n');
    throw new Error(`nx release publish failed:\n${tail}\n${e.message}`);
  }
}
