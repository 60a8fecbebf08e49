import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// tools/release is not a workspace library: the walk is shared with data's decode-entry test.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { isForbiddenDefault, walkEntry } from '../../../tools/release/lib/entry-graph.mjs';

/*
 * Inference without tfjs: the whole module graph of `@multichexnet/runtime` (and of its `format` entry), third-party
 * packages included, holds no @tensorflow/*, no sharp and no static onnxruntime-node or Node builtin. onnxruntime-web
 * is imported on first use by the `web` backend (a dynamic import a bundler splits off); onnxruntime-node and Node's
 * fs / path only through a specifier bundlers do not resolve. The cornerstone DICOM codecs' Emscripten glue (reached
 * through @multichexnet/data/decode) keeps its never-taken Node branch's `fs` / `path`, as in data's own test.
 */
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const EMSCRIPTEN_NODE_BRANCH = /node_modules\/@cornerstonejs\/codec-(charls|openjpeg)\/dist\/[a-z]+wasm_decode\.js$/;
const allowed = (f: { path: string; importer: string }): boolean =>
  (f.path === 'fs' || f.path === 'path') && EMSCRIPTEN_NODE_BRANCH.test(f.importer);
const isForbidden = (path: string): boolean => isForbiddenDefault(path) && path !== 'onnxruntime-web';

const built = `${packageDir}dist/index.js`;
const variants = [
  { name: 'the sources (the `source` condition)', conditions: ['source'], needs: null },
  { name: 'the build (dist/, as published)', conditions: [], needs: built },
] as const;

describe.each(variants)('@multichexnet/runtime from $name', ({ conditions, needs }) => {
  it.each(['@multichexnet/runtime', '@multichexnet/runtime/format'])(
    '%s imports no tfjs, sharp, onnxruntime-node or Node builtin',
    async (entry) => {
      if (needs !== null && !existsSync(needs))
        throw new Error(`${needs} is absent: build the package first (npx nx run @multichexnet/runtime:build)`);
      const graph = await walkEntry(entry, { packageDir, conditions: [...conditions], isForbidden });
      expect(graph.forbidden.filter((f) => !allowed(f))).toEqual([]);
      // The walk saw the graph it checks: core's tfjs-free base, the decoders, protobufjs.
      expect(graph.modules.some((m) => /(^|\/)core\/(src\/base\.ts|dist\/base\.js)$/.test(m))).toBe(true);
      if (entry === '@multichexnet/runtime') {
        expect(graph.modules.some((m) => /head-det\/(src\/decode\.ts|dist\/decode\.js)$/.test(m))).toBe(true);
        expect(graph.packages).toEqual(expect.arrayContaining(['protobufjs', 'fast-png', 'onnxruntime-web']));
      }
    },
  );
});

describe('@multichexnet/runtime as published, in plain Node', () => {
  it('loads without loading tfjs, and its DataError is the one @multichexnet/core exports', () => {
    if (!existsSync(built)) throw new Error(`${built} is absent: build the package first`);
    const script = [
      "const runtime = await import('@multichexnet/runtime');",
      'let thrown;',
      'try { await runtime.verifyModelBytes(new Uint8Array([1, 2, 3]), "x.onnx"); } catch (e) { thrown = e; }',
      // tfjs keeps its engine on the global object; the main entry of core loads it (the check's control)
      "const tfjsLoaded = () => '_tfengine' in globalThis;",
      'const before = tfjsLoaded();',
      "const { DataError } = await import('@multichexnet/core');",
      'console.log(JSON.stringify({ before, after: tfjsLoaded(), sameClass: thrown instanceof DataError }));',
    ].join('\n');
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: packageDir, encoding: 'utf8' })
        .trim()
        .split('\n')
        .at(-1)!,
    ) as Record<string, unknown>;
    expect(out).toEqual({ before: false, after: true, sameClass: true });
  });
});
