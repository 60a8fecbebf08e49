import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// tools/release is not a workspace library: the walk is shared with the runtime's entry test.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { walkEntry as walk, type EntryGraph, type ForbiddenImport } from '../../../tools/release/lib/entry-graph.mjs';

/*
 * `@multichexnet/data/decode` is what inference code and the browser demo import: its whole module graph, third-party
 * packages included, must hold no tfjs, no sharp, no onnxruntime and no Node builtin. esbuild bundles the entry for a
 * browser (the `browser` field of each package applies, as in any web bundler) and records every import it meets;
 * the forbidden ones are kept out of the bundle and listed with the module that imports them.
 */
const packageDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * The one known exception: the cornerstone DICOM codecs (JPEG-LS, JPEG 2000) ship one Emscripten glue file for Node
 * and browsers whose Node branch, never taken in a page, requires `fs` and `path` (the demo's Vite config resolves
 * those two to an empty module). Anything else, or these from any other module, fails.
 */
const EMSCRIPTEN_NODE_BRANCH = /node_modules\/@cornerstonejs\/codec-(charls|openjpeg)\/dist\/[a-z]+wasm_decode\.js$/;

/** Bundles `specifier` as a browser bundler would (with the given export conditions) and walks its graph. */
const walkEntry = (specifier: string, conditions: string[]): Promise<EntryGraph> =>
  walk(specifier, { packageDir, conditions });

/** What may stay: only the Emscripten glue's `fs` / `path`. */
function unexpected(graph: EntryGraph): ForbiddenImport[] {
  return graph.forbidden.filter(
    (f) => !((f.path === 'fs' || f.path === 'path') && EMSCRIPTEN_NODE_BRANCH.test(f.importer)),
  );
}

const builtDecode = `${packageDir}dist/decode.js`;
const assertBuilt = (): void => {
  if (!existsSync(builtDecode))
    throw new Error(`${builtDecode} is absent: build the package first (npx nx run @multichexnet/data:build)`);
};

const variants = [
  {
    name: 'the sources (the `source` condition, as tests and the demo resolve workspace packages)',
    conditions: ['source'],
    needs: null,
  },
  { name: 'the build (dist/, as published)', conditions: [], needs: builtDecode },
] as const;

describe.each(variants)('@multichexnet/data/decode from $name', ({ conditions, needs }) => {
  it('imports no @tensorflow/*, sharp, onnxruntime-* or Node builtin anywhere in its module graph', async () => {
    if (needs !== null) assertBuilt();
    const graph = await walkEntry('@multichexnet/data/decode', [...conditions]);
    expect(unexpected(graph)).toEqual([]);
    // The walk saw the whole graph: the lazily imported DICOM codecs and core's tfjs-free base are in it.
    expect(graph.packages).toEqual(
      expect.arrayContaining([
        '@cornerstonejs/codec-charls',
        '@cornerstonejs/codec-openjpeg',
        'jpeg-lossless-decoder-js',
        'dicom-parser',
        'fast-png',
        'jpeg-js',
        'fflate',
        'zod',
      ]),
    );
    expect(graph.modules.some((m) => /(^|\/)core\/(src\/base\.ts|dist\/base\.js)$/.test(m))).toBe(true);
    console.log(
      `@multichexnet/data/decode (${conditions.length > 0 ? 'src' : 'dist'}): ${graph.modules.length} modules, ${(graph.bytes.entry / 1024).toFixed(0)} KiB minified for a browser + ${(graph.bytes.lazy / 1024).toFixed(0)} KiB of DICOM codecs loaded on first use; packages: ${graph.packages.join(', ')}`,
    );
  });
});

describe('the graph walk finds what it looks for', () => {
  it('the main entry reaches tfjs (through core), the Node entry sharp and Node builtins', async () => {
    const main = await walkEntry('@multichexnet/data', ['source']);
    expect(unexpected(main).map((f) => f.path)).toContain('@tensorflow/tfjs');
    const node = await walkEntry('@multichexnet/data/node', ['source']);
    const paths = unexpected(node).map((f) => f.path);
    expect(paths).toContain('sharp');
    expect(paths.some((p) => p.startsWith('node:'))).toBe(true);
  });
});

describe('@multichexnet/data/decode as published, in plain Node', () => {
  it('decodes without loading tfjs, and its DataError is the one @multichexnet/core exports', () => {
    assertBuilt();
    // A child Node process resolves the packages as a user's project does (dist/, no `source` condition).
    const script = [
      "const { decodeImage } = await import('@multichexnet/data/decode');",
      'let thrown;',
      'try { decodeImage(new Uint8Array([1, 2, 3]), "x.png"); } catch (e) { thrown = e; }',
      // tfjs keeps its engine on the global object; the main entry of core loads it (the check's control)
      "const tfjsLoaded = () => '_tfengine' in globalThis;",
      'const before = tfjsLoaded();',
      "const { DataError } = await import('@multichexnet/core');",
      'console.log(JSON.stringify({ before, after: tfjsLoaded(), sameClass: thrown instanceof DataError, message: thrown.message }));',
    ].join('\n');
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: packageDir, encoding: 'utf8' })
        .trim()
        .split('\n')
        .at(-1)!,
    ) as Record<string, unknown>;
    expect(out).toEqual({
      before: false,
      after: true,
      sameClass: true,
      message: expect.stringMatching(/^Image format is not recognised \(file x\.png\)/),
    });
  });
});
