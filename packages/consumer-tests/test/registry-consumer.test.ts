// Publishing for real: a local npm registry (Verdaccio on 127.0.0.1, no uplinks), every package published to it with
// `nx release publish` as a release does, then a user's fresh project that runs a package README's `npm install`
// line (against that registry for @multichexnet/*, the npm cache for the rest) and the README's example, as written.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { npmEnv, repositoryFields } from '../../../tools/release/lib/pack.mjs';
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  exampleBlock,
  failureTail,
  importedPackages,
  installLine,
  isTypeScript,
  runExample,
} from '../../../tools/release/lib/readme-example.mjs';
import {
  createConsumerProject,
  installConsumerProject,
  installedCopies,
  workspaceRoot,
} from './helpers/consumer-project';
import {
  README_FOLLOWED,
  publishableWorkspacePackages,
  publishWorkspace,
  startLocalRegistry,
  type LocalRegistry,
} from './helpers/local-registry';

/** The project's shared folder: README examples read `../shared/realdata/...` from where they run. */
const SHARED = resolve(workspaceRoot, '..', 'shared');
/** Optional peers of core: a user installs them on purpose, npm never does. */
const OPTIONAL_PEERS = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu'];

interface Packument {
  'dist-tags': Record<string, string>;
  versions: Record<
    string,
    {
      license?: string;
      repository?: unknown;
      homepage?: string;
      bugs?: unknown;
      dist: { tarball: string; integrity: string };
    }
  >;
}

/** The registry's document of a package (every version's manifest). */
async function packument(name: string): Promise<Packument> {
  const res = await fetch(`${registry.url}${name.replace('/', '%2f')}`);
  if (res.status !== 200) throw new Error(`${name}: the registry answered ${res.status}`);
  return (await res.json()) as Packument;
}

let work: string;
let registry: LocalRegistry;
const published = publishableWorkspacePackages();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mcx-consumer-registry-'));
  registry = await startLocalRegistry(join(work, 'registry'));
  const { seconds } = await publishWorkspace(registry);
  console.log(
    `registry consumer: nx release publish of ${published.length} packages to ${registry.url} took ${seconds.toFixed(1)} s`,
  );
  // The projects live in <work>/<name>: a README's `../shared/realdata` must resolve there as in the repository.
  if (existsSync(SHARED)) symlinkSync(SHARED, join(work, 'shared'), 'dir');
});

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('nx release publish to a local registry', () => {
  it.each(published.map((p) => [p.name, p]))(
    '%s is on the registry at its workspace version, with its licence and repository fields',
    async (name, p) => {
      const doc = await packument(name);
      expect(doc['dist-tags'].latest).toBe(p.version);
      const manifest = doc.versions[p.version]!;
      const { repository, homepage, bugs } = repositoryFields(p.dir);
      expect(manifest.license).toBe('Apache-2.0');
      expect(manifest.repository).toEqual(repository);
      expect(manifest.homepage).toBe(homepage);
      expect(manifest.bugs).toEqual(bugs);
      expect(manifest.dist.tarball.startsWith(registry.url)).toBe(true);
    },
  );
});

describe.each(README_FOLLOWED)('a user who follows the README of @multichexnet/%s', (pkg) => {
  const readme = readFileSync(join(workspaceRoot, 'packages', pkg, 'README.md'), 'utf8');
  const block = exampleBlock(readme);
  const needsShared = block?.code.includes('../shared/realdata') === true && !existsSync(join(SHARED, 'realdata'));

  it.skipIf(needsShared)('installs from the registry and runs the example as written', async () => {
    expect(block, `${pkg}/README.md has no example`).not.toBeNull();
    // The README's install line, plus what else the example imports (runtime's exports blocks of other packages).
    const packages = [...new Set([...installLine(readme), ...importedPackages(block!.code)])];
    expect(packages).toContain(`@multichexnet/${pkg}`);
    const project = join(work, pkg);
    createConsumerProject(project, { dependencies: {}, registry: registry.url });
    const { seconds } = await installConsumerProject(project, packages);
    console.log(`registry consumer: npm install ${packages.join(' ')} took ${seconds.toFixed(1)} s`);

    // What was installed is what the registry holds (same tarball integrity), with the repository's licence; core's
    // optional peers stayed out.
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string; integrity?: string }>;
    };
    const ours = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/@multichexnet/'));
    expect(ours.map(([path]) => path)).toContain(`node_modules/@multichexnet/${pkg}`);
    for (const [path, entry] of ours) {
      const served = (await packument(path.slice('node_modules/'.length))).versions[entry.version];
      expect(entry.integrity, path).toBe(served?.dist.integrity);
    }
    expect(readFileSync(join(project, 'node_modules', '@multichexnet', pkg, 'LICENSE'), 'utf8')).toContain(
      'Apache License',
    );
    for (const peer of OPTIONAL_PEERS) expect(installedCopies(project, peer), peer).toEqual([]);

    const r = runExample(block!, join(project, `example.${isTypeScript(block!) ? 'mts' : 'mjs'}`), {
      cwd: project,
      env: npmEnv,
      timeoutMs: 240_000,
    });
    expect(r.status, `${pkg} README example (exit ${r.status ?? r.signal}):\n${failureTail(r)}`).toBe(0);
    console.log(`registry consumer: the ${pkg} README example ran in ${r.seconds.toFixed(1)} s`);
  });
});
