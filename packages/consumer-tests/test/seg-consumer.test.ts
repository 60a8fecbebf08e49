// A user installs only @multichexnet/core, @multichexnet/core-encoder and @multichexnet/head-seg, from the tarballs
// that would be published, into a project outside the workspace, and composes their own pipeline with them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  installedCopies,
  npmLs,
  runCommand,
  packWorkspacePackages,
  runInConsumer,
  workspaceRoot,
  setUpConsumerProject,
} from './helpers/consumer-project';

const PACKAGES = ['@multichexnet/core', '@multichexnet/core-encoder', '@multichexnet/head-seg'];
const TFJS = '4.22.0';

let work: string;
let project: string;
/** The version of core as packed (the workspace's package.json), not a literal that a release would outdate. */
let coreVersion: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mcx-consumer-seg-'));
  const packed = packWorkspacePackages(PACKAGES, join(work, 'tarballs'));
  coreVersion = packed.get('@multichexnet/core')!.version;
  project = await setUpConsumerProject(
    work,
    { dependencies: Object.fromEntries([...packed].map(([name, p]) => [name, `file:${p.tarball}`])) },
    'seg',
    `seg consumer: packed ${PACKAGES.length} packages`,
  );
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a project that installs core, core-encoder and head-seg from their tarballs', () => {
  it('lives outside the workspace', () => {
    expect(project.startsWith(workspaceRoot)).toBe(false);
  });

  it('holds exactly one copy of core and of each tfjs package, at the pinned version', async () => {
    for (const name of [
      '@multichexnet/core',
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-layers',
    ]) {
      const copies = installedCopies(project, name);
      expect(copies, name).toHaveLength(1);
      if (name.startsWith('@tensorflow/')) expect(copies[0]!.version, name).toBe(TFJS);
    }
    const { occurrences, problems } = await npmLs(project);
    expect(problems).toEqual([]);
    expect([...occurrences.get('@multichexnet/core')!]).toEqual([coreVersion]);
    expect([...occurrences.get('@tensorflow/tfjs')!]).toEqual([TFJS]);
    expect([...occurrences.get('@tensorflow/tfjs-core')!]).toEqual([TFJS]);
  });

  it('installs only the workspace packages it asked for', () => {
    const ours = [
      '@multichexnet/core',
      '@multichexnet/core-encoder',
      '@multichexnet/data',
      '@multichexnet/gating',
      '@multichexnet/head-cls',
      '@multichexnet/head-det',
      '@multichexnet/head-seg',
      '@multichexnet/runtime',
      '@multichexnet/trainer',
    ];
    const present = ours.filter((name) => installedCopies(project, name).length > 0);
    expect(present).toEqual(PACKAGES);
  });

  it('trains a custom encoder + segmentation head on wasm, predicts, and reloads the head weights alone', async () => {
    const r = await runInConsumer<{
      backend: string;
      tfjsVersion: string;
      featureChannels: Record<string, number>;
      losses: number[];
      headTrained: boolean;
      encoderTrained: boolean;
      logitsShape: number[];
      masks: { width: number; height: number; length: number }[];
      weightsFileBytes: number;
      headParams: number;
      encoderParams: number;
      untrainedMaxDiff: number;
      reloadedMaxDiff: number;
      rebuiltMaxDiff: number;
      rebuiltClassName: string;
      masksEqual: boolean;
      tensorsLeaked: number;
    }>(project, process.execPath, ['train-predict-reload.mjs']);
    expect(r.backend).toBe('wasm');
    expect(r.tfjsVersion).toBe(TFJS);
    // The overrides took effect: growth rate 6 with blocks [1, 2, 2, 1] is not the tiny preset's 24/28/30/31.
    expect(r.featureChannels).not.toEqual({ c2: 24, c3: 28, c4: 30, c5: 31 });
    expect(r.losses).toHaveLength(3);
    for (const l of r.losses) expect(Number.isFinite(l) && l > 0).toBe(true);
    expect(r.headTrained).toBe(true);
    expect(r.encoderTrained).toBe(true);
    expect(r.logitsShape).toEqual([2, 64, 64, 1]);
    expect(r.masks).toEqual([
      { width: 64, height: 64, length: 64 * 64 },
      { width: 64, height: 64, length: 64 * 64 },
    ]);
    // The file holds the head alone: its float32 parameters plus a small header, none of the encoder's.
    expect(r.weightsFileBytes).toBeGreaterThanOrEqual(r.headParams * 4);
    expect(r.weightsFileBytes).toBeLessThan(r.headParams * 4 + 16_384);
    // A fresh head (same config, initial weights) differs from the trained one; after loading it is identical.
    expect(r.untrainedMaxDiff).toBeGreaterThan(1e-4);
    expect(r.reloadedMaxDiff).toBe(0);
    expect(r.rebuiltMaxDiff).toBe(0);
    expect(r.rebuiltClassName).toBe('head-seg/SegHead');
    expect(r.masksEqual).toBe(true);
    expect(r.tensorsLeaked).toBe(0);
  });

  it('loads with require() from CommonJS as the same instance as import', async () => {
    const r = await runInConsumer<{
      sameCore: boolean;
      sameTf: boolean;
      sameSeg: boolean;
      registered: string[];
      encoderFactory: string;
      coreVersion: string;
    }>(project, process.execPath, ['require-esm.mjs']);
    expect(r.sameCore).toBe(true);
    expect(r.sameTf).toBe(true);
    expect(r.sameSeg).toBe(true);
    expect(r.registered).toEqual(expect.arrayContaining(['core-encoder/DenseNetEncoder', 'head-seg/SegHead']));
    expect(r.encoderFactory).toBe('function');
    expect(r.coreVersion).toBe(coreVersion);
  });

  it.each(['tsconfig.json', 'tsconfig.source-condition.json'])(
    'type-checks a TypeScript consumer against the published declarations (%s)',
    async (tsconfig) => {
      // The workspace's TypeScript compiler; the consumer's node_modules hold only what the packages install.
      const tsc = join(workspaceRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = await runCommand(project, process.execPath, [tsc, '-p', tsconfig]);
      expect(r.output.trim()).toBe('');
      expect(r.code).toBe(0);
    },
  );
});
