#!/usr/bin/env node
// `npm run bench`: runs every benchmark section in bench/sections/*.mjs and prints one JSON document.
//
//   node bench/run.mjs [--only a,b] [--quick] [--out file.json] [--list] [--no-build]
//
// Contract for a section (bench/sections/<name>.mjs):
//   export const name = 'probe-net';            // key in the JSON output
//   export const description = 'one line';
//   export const packages = ['core'];            // optional: built packages it imports (built here when stale)
//   export async function run(ctx) { return { ...json } }   // or { skipped: 'why' }
// ctx = { repoRoot, quick, log(msg), measure(fn, { warmup, iterations }), importPackage(dirName), python,
// torchAvailable }
//
// Each section runs in its own child process so that peak RSS, backend state and tensor counts of one section
// never leak into the next; the parent only collects results. JSON goes to stdout (or --out), a table to stderr.
import { fork, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem, platform, arch, release } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const sectionsDir = join(repoRoot, 'bench', 'sections');
const PYTHON = '/usr/bin/python3';

function parseArgs(argv) {
  const args = { only: null, quick: false, out: null, list: false, build: true, worker: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--only' || a.startsWith('--only='))
      args.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--out' || a.startsWith('--out=')) args.out = value();
    else if (a === '--quick') args.quick = true;
    else if (a === '--list') args.list = true;
    else if (a === '--no-build') args.build = false;
    else if (a === '--section-worker') args.worker = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stderr.write(
        'usage: node bench/run.mjs [--only a,b] [--quick] [--out file.json] [--list] [--no-build]\n',
      );
      process.exit(0);
    } else fail(`unknown argument ${a} (try --help)`);
  }
  return args;
}

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

/** Sections by file, in a stable order (file name). */
async function discoverSections() {
  if (!existsSync(sectionsDir)) return [];
  const files = readdirSync(sectionsDir)
    .filter((f) => f.endsWith('.mjs'))
    .sort();
  const out = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(join(sectionsDir, file)).href);
    if (typeof mod.name !== 'string' || typeof mod.description !== 'string' || typeof mod.run !== 'function') {
      fail(`bench/sections/${file} must export name (string), description (string) and run(ctx)`);
    }
    out.push({
      file,
      name: mod.name,
      description: mod.description,
      packages: Array.isArray(mod.packages) ? mod.packages : [],
    });
  }
  const seen = new Set();
  for (const s of out) {
    if (seen.has(s.name)) fail(`two sections are named ${s.name}`);
    seen.add(s.name);
  }
  return out;
}

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds (through Nx, so dependencies come first) the packages whose dist is missing or older than src. */
function buildStale(pkgDirs) {
  const stale = [];
  for (const dir of pkgDirs) {
    const root = join(repoRoot, 'packages', dir);
    if (!existsSync(root)) continue;
    const dist = join(root, 'dist', 'index.js');
    if (!existsSync(dist) || statSync(dist).mtimeMs < newestMtime(join(root, 'src'))) stale.push(dir);
  }
  if (stale.length === 0) return;
  process.stderr.write(`bench: building ${stale.join(', ')} (dist missing or older than src)\n`);
  const projects = stale.map((d) => `@multichexnet/${d}`).join(',');
  const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
  const r = spawnSync('npx', ['nx', 'run-many', '-t', 'build', `--projects=${projects}`, '--outputStyle=stream'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) fail(`build of ${projects} failed`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[idx];
}

/** Times fn (sync or async): `warmup` untimed calls, then `iterations` timed ones. */
async function measure(fn, { warmup = 2, iterations = 10 } = {}) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: percentile(sorted, 50), p10Ms: percentile(sorted, 10), p90Ms: percentile(sorted, 90), samples };
}

function torchAvailable() {
  if (!existsSync(PYTHON)) return false;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Child side: runs one section and sends its result to the parent. */
async function runWorker(file, quick) {
  const mod = await import(pathToFileURL(join(sectionsDir, file)).href);
  const ctx = {
    repoRoot,
    quick,
    log: (msg) => process.stderr.write(`  [${mod.name}] ${msg}\n`),
    measure,
    importPackage: (dir) => import(pathToFileURL(join(repoRoot, 'packages', dir, 'dist', 'index.js')).href),
    python: PYTHON,
    torchAvailable: process.env.MCX_BENCH_TORCH === '1',
  };
  let result;
  try {
    result = await mod.run(ctx);
  } catch (err) {
    result = { error: String(err?.stack ?? err) };
  }
  // Serialise here so a non-JSON value fails in the section, with its name, not in the parent.
  const json = JSON.stringify(result ?? null);
  await new Promise((resolve) => process.send({ json }, resolve));
  // Backends with worker threads may keep the loop alive; the result is out, so leave now.
  process.exit(0);
}

function runSectionInChild(section, quick, torch) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = fork(
      fileURLToPath(import.meta.url),
      ['--section-worker', section.file, ...(quick ? ['--quick'] : [])],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, MCX_BENCH_TORCH: torch ? '1' : '0' },
      },
    );
    let payload = null;
    child.on('message', (m) => {
      payload = m;
    });
    child.on('exit', (code, signal) => {
      const seconds = (performance.now() - t0) / 1000;
      if (payload !== null) resolve({ result: JSON.parse(payload.json), seconds });
      else resolve({ result: { error: `section process exited with ${signal ?? code} before reporting` }, seconds });
    });
  });
}

function fmt(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
  }
  if (typeof v === 'string') return v.length > 90 ? `${v.slice(0, 87)}...` : v;
  return JSON.stringify(v);
}

/** Flattens a result to dotted keys; arrays of numbers (samples) are left out of the table, kept in the JSON. */
function flatten(obj, prefix = '', out = []) {
  if (obj === null || typeof obj !== 'object') {
    out.push([prefix, obj]);
    return out;
  }
  if (Array.isArray(obj)) {
    if (obj.every((x) => typeof x === 'number')) return out;
    obj.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    return out;
  }
  for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

function printTable(doc) {
  const lines = [];
  lines.push(
    `machine: ${doc.machine.cpuModel} x${doc.machine.cpus}, node ${doc.machine.node}, torch ${doc.machine.torch ? 'yes' : 'no'}`,
  );
  for (const [name, result] of Object.entries(doc.sections)) {
    lines.push('');
    lines.push(`== ${name} (${doc.timings[name]?.toFixed(1)} s)`);
    const rows = flatten(result);
    const width = Math.min(60, Math.max(...rows.map(([k]) => k.length), 4));
    for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${fmt(v)}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker !== null) return runWorker(args.worker, args.quick);

  let sections = await discoverSections();
  if (args.list) {
    for (const s of sections) process.stderr.write(`${s.name.padEnd(24)} ${s.description}\n`);
    return;
  }
  if (args.only !== null) {
    const known = new Set(sections.map((s) => s.name));
    const unknown = args.only.filter((n) => !known.has(n));
    if (unknown.length > 0) fail(`unknown section(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
    sections = sections.filter((s) => args.only.includes(s.name));
  }
  if (args.build) buildStale([...new Set(sections.flatMap((s) => s.packages))]);

  const torch = torchAvailable();
  const cpu = cpus();
  const doc = {
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
      node: process.versions.node,
      v8: process.versions.v8,
      platform: platform(),
      arch: arch(),
      osRelease: release(),
      torch,
    },
    startedAt: new Date().toISOString(),
    quick: args.quick,
    sections: {},
    timings: {},
  };
  for (const s of sections) {
    process.stderr.write(`bench: ${s.name}: ${s.description}\n`);
    const { result, seconds } = await runSectionInChild(s, args.quick, torch);
    doc.sections[s.name] = result;
    doc.timings[s.name] = seconds;
  }
  const json = `${JSON.stringify(doc, null, 2)}\n`;
  if (args.out) {
    mkdirSync(dirname(resolve(args.out)), { recursive: true });
    writeFileSync(args.out, json);
    process.stderr.write(`bench: wrote ${relative(process.cwd(), args.out) || args.out}\n`);
  } else {
    process.stdout.write(json);
  }
  printTable(doc);
  const failed = Object.entries(doc.sections).filter(([, r]) => r && typeof r === 'object' && 'error' in r);
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} section(s) failed: ${failed.map(([n]) => n).join(', ')}\n`);
    process.exitCode = 1;
  }
}

await main();
