// A user installs @multichexnet/data (with its peer @multichexnet/core) from the tarballs that would be published:
// the loaders and decoders come without the synthetic generator's encoders (sharp, dcmjs), and the image decoders
// run from @multichexnet/data/decode without tfjs. sharp is an optional peer that turns on the Node fast path.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumerProject,
  installConsumerProject,
  installedCopies,
  npmLs,
  packWorkspacePackages,
  runInConsumer,
} from './helpers/consumer-project';

const PACKAGES = ['@multichexnet/core', '@multichexnet/data'];
const PNG = { width: 48, height: 40 };

let work: string;
let project: string;
let pngFile: string;
let sharpRange: string;

interface DecodeResult {
  decoded: { format: string; width: number; height: number; inputLength: number }[];
  tfjsLoaded: boolean;
}

interface SharpResult {
  sharpDecoder: boolean;
  image: { width: number; height: number } | null;
}

/** The size of a node_modules folder: in all, of the tfjs packages, its package count and largest packages (MB). */
function sizes(nodeModules: string): { totalMb: number; tfjsMb: number; packages: number; top: string[] } {
  const du = (path: string): number => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
  const rows: [string, number][] = [];
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@') ? readdirSync(join(nodeModules, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of names) rows.push([name, du(join(nodeModules, name))]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  const tfjs = rows.filter(([n]) => n.startsWith('@tensorflow/')).reduce((sum, [, b]) => sum + b, 0);
  return {
    totalMb: du(nodeModules) / 1e6,
    tfjsMb: tfjs / 1e6,
    packages: rows.length,
    top: rows.slice(0, 6).map(([n, b]) => `${n} ${(b / 1e6).toFixed(1)}`),
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mcx-consumer-data-'));
  const packed = packWorkspacePackages(PACKAGES, join(work, 'tarballs'));
  sharpRange = (packed.get('@multichexnet/data')!.manifest.peerDependencies as Record<string, string>).sharp!;
  project = join(work, 'project');
  // tfjs is an optional peer of core and data (the decode entry needs none): a user of the main and Node entries
  // installs it, at the version core pins.
  const tfjs = (packed.get('@multichexnet/core')!.manifest.peerDependencies as Record<string, string>)[
    '@tensorflow/tfjs'
  ]!;
  const dependencies = {
    ...Object.fromEntries([...packed].map(([name, p]) => [name, `file:${p.tarball}`])),
    '@tensorflow/tfjs': tfjs,
    '@tensorflow/tfjs-backend-wasm': tfjs,
  };
  createConsumerProject(project, { dependencies }, 'data');
  const { seconds } = await installConsumerProject(project);
  const data = new Uint8Array(PNG.width * PNG.height).map((_, i) => (i * 7) % 256);
  pngFile = join(work, 'film.png');
  writeFileSync(pngFile, encode({ ...PNG, data, channels: 1, depth: 8 }));
  const nm = sizes(join(project, 'node_modules'));
  console.log(
    `data consumer: npm install took ${seconds.toFixed(1)} s; node_modules ${nm.totalMb.toFixed(1)} MB in ${nm.packages} packages, ` +
      `${nm.tfjsMb.toFixed(1)} MB of them @tensorflow/*; largest (MB): ${nm.top.join(', ')}`,
  );
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a project that installs @multichexnet/data from its tarball', () => {
  it('gets neither sharp nor dcmjs nor the synthetic generator', async () => {
    for (const name of ['sharp', 'dcmjs', '@multichexnet/synth'])
      expect(installedCopies(project, name), name).toEqual([]);
    const { problems } = await npmLs(project);
    expect(problems).toEqual([]);
  });

  it('decodes and preprocesses through @multichexnet/data/decode without loading tfjs; the Node fast path is off without sharp', async () => {
    const r = await runInConsumer<DecodeResult>(project, process.execPath, ['decode-files.mjs', pngFile]);
    expect(r).toEqual({ decoded: [{ format: 'png', ...PNG, inputLength: 32 * 32 }], tfjsLoaded: false });
    expect(await runInConsumer<SharpResult>(project, process.execPath, ['sharp-decode.mjs', pngFile])).toEqual({
      sharpDecoder: false,
      image: null,
    });
  });

  it('with sharp installed next to it (its optional peer), the Node entry decodes through libvips', async () => {
    await installConsumerProject(project, [`sharp@${sharpRange}`]);
    expect(installedCopies(project, 'sharp')).toHaveLength(1);
    const { problems } = await npmLs(project);
    expect(problems).toEqual([]);
    expect(await runInConsumer<SharpResult>(project, process.execPath, ['sharp-decode.mjs', pngFile])).toEqual({
      sharpDecoder: true,
      image: PNG,
    });
  });
});
