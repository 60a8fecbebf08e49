#!/usr/bin/env node
// What a deployment of @multichexnet/runtime costs: a fresh project outside the workspace installs the packed runtime
// tarball (the workspace packages it needs come from their own tarballs, through npm overrides, since they are not on
// a registry) plus onnxruntime-node, as the README's install line says; then `du` of its node_modules, its packages,
// and whether tfjs, sharp or onnxruntime-web came along. Also the demo's production bundle (apps/demo, `vite build`):
// its size, the warnings the build printed, and whether tfjs code is in it.
//
//   node packages/runtime/scripts/install-size.mjs --label after [--root <a checkout> --commit <sha>] [--skip-install | --skip-demo]
//
// `--root` measures another checkout with its own node_modules and built packages (the "before" numbers were taken on
// a checkout of main). The result goes into packages/runtime/docs/install-size.json under its label.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const label = option('label');
if (label === undefined) {
  console.error(
    'usage: node packages/runtime/scripts/install-size.mjs --label <name> [--root <checkout>] [--skip-demo]',
  );
  process.exit(2);
}
const root = resolve(option('root') ?? join(here, '..', '..', '..'));
const out = join(here, '..', 'docs', 'install-size.json');
const { npmEnv, packPackages } = await import(pathToFileURL(join(root, 'tools', 'release', 'lib', 'pack.mjs')).href);

const sh = (cmd, argv, cwd) =>
  execFileSync(cmd, argv, { cwd, env: npmEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
const duBytes = (path) => Number(sh('du', ['-sb', path], root).split('\t')[0]);
const manifestOf = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** The workspace packages by name -> folder. */
const workspace = new Map(
  readdirSync(join(root, 'packages'))
    .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
    .map((d) => [manifestOf(join(root, 'packages', d)).name, join(root, 'packages', d)]),
);

/** runtime and every workspace package it needs to run (dependencies and peers, recursively). */
function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const m = manifestOf(workspace.get(name));
  for (const dep of Object.keys({ ...m.dependencies, ...m.peerDependencies })) {
    const optional = m.peerDependenciesMeta?.[dep]?.optional === true;
    if (workspace.has(dep) && !optional) closure(dep, seen);
  }
  return seen;
}

/** Installed package folders of a project (nested node_modules too): name, bytes. */
function installed(nodeModules) {
  const rows = [];
  const visit = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@') ? readdirSync(join(dir, entry)).map((n) => join(entry, n)) : [entry];
      for (const n of names) {
        const pkg = join(dir, n);
        if (!existsSync(join(pkg, 'package.json'))) continue;
        rows.push({ name: manifestOf(pkg).name ?? n, bytes: duBytes(pkg) });
        visit(join(pkg, 'node_modules'));
      }
    }
  };
  visit(nodeModules);
  return rows;
}

function measureInstall() {
  const names = [...closure('@multichexnet/runtime')].sort();
  for (const n of names) {
    if (!existsSync(join(workspace.get(n), 'dist', 'index.js')))
      throw new Error(`${n} is not built in ${root}: build it first`);
  }
  const work = mkdtempSync(join(tmpdir(), 'runtime-install-size-'));
  try {
    const packed = packPackages(
      names.map((n) => workspace.get(n)),
      join(work, 'tarballs'),
    );
    const file = (n) => `file:${packed.find((p) => p.name === n).tarball}`;
    const runtime = packed.find((p) => p.name === '@multichexnet/runtime').manifest;
    // onnxruntime-node at the range runtime names (an optional peer after the split, a dependency before it).
    const ortRange = runtime.peerDependencies?.['onnxruntime-node'] ?? runtime.dependencies?.['onnxruntime-node'];
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify(
        {
          name: 'runtime-install-size',
          version: '1.0.0',
          private: true,
          type: 'module',
          dependencies: { '@multichexnet/runtime': file('@multichexnet/runtime'), 'onnxruntime-node': ortRange },
          overrides: Object.fromEntries(names.filter((n) => n !== '@multichexnet/runtime').map((n) => [n, file(n)])),
        },
        null,
        2,
      ),
    );
    const t0 = performance.now();
    sh(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'],
      project,
    );
    const seconds = (performance.now() - t0) / 1000;
    const nm = join(project, 'node_modules');
    const rows = installed(nm).sort((a, b) => b.bytes - a.bytes);
    const present = (test) => [...new Set(rows.filter((r) => test(r.name)).map((r) => r.name))].sort();
    const mb = (bytes) => Math.round(bytes / 1e5) / 10;
    return {
      command: `npm install ${file('@multichexnet/runtime').replace(/.*\//, '')} onnxruntime-node@${ortRange} (workspace packages ${names.join(', ')} from their tarballs)`,
      installSeconds: Math.round(seconds),
      nodeModulesMB: mb(duBytes(nm)),
      packages: new Set(rows.map((r) => r.name)).size,
      tensorflow: present((n) => n.startsWith('@tensorflow/')),
      tensorflowMB: mb(rows.filter((r) => r.name.startsWith('@tensorflow/')).reduce((s, r) => s + r.bytes, 0)),
      sharp: present((n) => n === 'sharp' || n.startsWith('@img/')),
      onnxruntimeWeb: present((n) => n === 'onnxruntime-web'),
      largestMB: Object.fromEntries(rows.slice(0, 8).map((r) => [r.name, mb(r.bytes)])),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Strings only tfjs code carries (its kernel registry and engine); any of them in a bundle means tfjs is in it. */
const TFJS_MARKERS = ['tfjsflags', '_tfengine', 'TFJS_VERSION', '@tensorflow/tfjs'];

/**
 * The demo's production build through Vite's API, every warning captured (Vite's logger and the bundler's logs) with
 * the config's own filters bypassed, as apps/demo/test/demo-page.e2e.test.ts builds it.
 */
async function measureDemo() {
  const app = join(root, 'apps', 'demo');
  const outDir = mkdtempSync(join(tmpdir(), 'demo-bundle-'));
  try {
    const vite = await import(pathToFileURL(join(root, 'node_modules', 'vite', 'dist', 'node', 'index.js')).href);
    const warnings = [];
    const logger = vite.createLogger('warn');
    logger.warn = (msg) => void warnings.push(msg);
    logger.warnOnce = (msg) => void warnings.push(msg);
    await vite.build({
      root: app,
      configFile: join(app, 'vite.config.ts'),
      customLogger: logger,
      logLevel: 'warn',
      build: {
        outDir,
        emptyOutDir: true,
        rolldownOptions: { onLog: (_level, log) => void warnings.push(`${log.code ?? ''} ${log.message}`) },
      },
    });
    const files = [];
    const walk = (dir) => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) walk(p);
        else files.push({ path: p.slice(outDir.length + 1), bytes: statSync(p).size });
      }
    };
    walk(outDir);
    const js = files.filter((f) => f.path.endsWith('.js') && f.path.startsWith('assets/'));
    const kb = (bytes) => Math.round(bytes / 102.4) / 10;
    const entry = js.filter((f) => /^assets\/index-/.test(f.path)).reduce((s, f) => s + f.bytes, 0);
    const withTfjs = js
      .filter((f) => TFJS_MARKERS.some((m) => readFileSync(join(outDir, f.path), 'utf8').includes(m)))
      .map((f) => f.path.replace(/-[A-Za-z0-9_-]{8}\.js$/, '.js'));
    return {
      command: "vite build of apps/demo (Vite API, the config's warning filters bypassed)",
      javascriptKB: kb(js.reduce((s, f) => s + f.bytes, 0)),
      entryChunkKB: kb(entry),
      // onnxruntime-web's wasm and the DICOM codecs' wasm, copied beside the bundle
      wasmKB: kb(files.filter((f) => f.path.endsWith('.wasm')).reduce((s, f) => s + f.bytes, 0)),
      chunksWithTfjsCode: withTfjs,
      // PLUGIN_TIMINGS (slow plugin callbacks on a loaded machine) is about the build's speed, not the bundle
      buildWarnings: warnings
        .filter((w) => !w.startsWith('PLUGIN_TIMINGS '))
        .map((w) => w.replace(/\u001b\[[0-9;]*m/g, '').slice(0, 200)),
      configSilencesWarnings: /customLogger|onLog\s*\(/.test(readFileSync(join(app, 'vite.config.ts'), 'utf8')),
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const commit = option('commit') ?? sh('git', ['rev-parse', '--short', 'HEAD'], root);
const all = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
// --skip-install / --skip-demo keep what an earlier run of the same label measured for that part.
const result = {
  ...all[label],
  commit,
  measured: new Date().toISOString().slice(0, 10),
  node: process.version,
  npm: sh('npm', ['--version'], root),
  ...(args.includes('--skip-install') ? {} : { runtimeInstall: measureInstall() }),
  ...(args.includes('--skip-demo') ? {} : { demoBundle: await measureDemo() }),
};
all[label] = result;
writeFileSync(out, `${JSON.stringify(all, null, 2)}\n`);
console.log(JSON.stringify({ [label]: result }, null, 2));
