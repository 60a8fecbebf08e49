// The module graph of a package entry as a browser bundler sees it: esbuild bundles the entry for a browser (the
// `browser` field of each package applies, as in any web bundler) and records every import it meets; the forbidden
// ones (tfjs, sharp, onnxruntime, Node builtins, or what the caller names) are kept out of the bundle and listed with
// the module that imports them. Used by the tests that keep tfjs-free entries tfjs-free (data/decode, runtime).
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

const builtins = new Set(builtinModules);

/** Marks the plugin's own resolve calls, which it lets esbuild answer. */
const OWN_RESOLVE = Symbol('own resolve');

/** The default test: Node builtins, @tensorflow/*, sharp and onnxruntime-*. */
export function isForbiddenDefault(path) {
  return (
    path.startsWith('node:') ||
    builtins.has(path) ||
    /^@tensorflow\//.test(path) ||
    path === 'sharp' ||
    /^onnxruntime-/.test(path)
  );
}

/**
 * Bundles `specifier` from `packageDir` as a browser bundler would (with the given export conditions) and walks its
 * graph: { modules, packages, forbidden: [{ path, importer }], bytes: { entry, lazy } }.
 */
export async function walkEntry(specifier, { packageDir, conditions = [], isForbidden = isForbiddenDefault }) {
  const forbidden = [];
  const result = await build({
    entryPoints: [specifier],
    absWorkingDir: packageDir,
    bundle: true,
    write: false,
    outdir: 'bundle',
    splitting: true,
    minify: true,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    conditions,
    logLevel: 'silent',
    plugins: [
      {
        name: 'forbidden-imports',
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.pluginData === OWN_RESOLVE || !isForbidden(args.path)) return undefined;
            // A bare builtin the importing package maps away for browsers (`"browser": { "zlib": false }`) is an empty
            // module in every web bundle: esbuild resolves it without error, so it is not an import of the builtin.
            if (builtins.has(args.path)) {
              const own = await b.resolve(args.path, {
                kind: args.kind,
                importer: args.importer,
                resolveDir: args.resolveDir,
                pluginData: OWN_RESOLVE,
              });
              if (own.errors.length === 0) return undefined;
            }
            forbidden.push({ path: args.path, importer: args.importer });
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const metafile = result.metafile;
  const modules = Object.keys(metafile.inputs);
  const packages = [
    ...new Set(modules.map((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1]).filter((p) => p !== undefined)),
  ].sort();
  // Loaded with the import: the entry's output and the chunks it imports statically; the rest loads on first use.
  const outputs = Object.entries(metafile.outputs).filter(([file]) => file.endsWith('.js'));
  const dynamicTargets = new Set(
    outputs.flatMap(([, o]) => o.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path)),
  );
  const eager = new Set(
    outputs.filter(([file, o]) => o.entryPoint !== undefined && !dynamicTargets.has(file)).map(([file]) => file),
  );
  for (const file of eager)
    for (const i of metafile.outputs[file].imports)
      if (i.kind === 'import-statement' && i.external !== true) eager.add(i.path);
  const sum = (files) => files.reduce((n, [, o]) => n + o.bytes, 0);
  return {
    modules,
    packages,
    forbidden,
    bytes: { entry: sum(outputs.filter(([f]) => eager.has(f))), lazy: sum(outputs.filter(([f]) => !eager.has(f))) },
  };
}
