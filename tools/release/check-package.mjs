#!/usr/bin/env node
// `npm run check-package` in a package folder (the Nx target `check-package`, after `build`): checks the tarball
// that would be published, three ways.
//   1. publint (strict: warnings fail) on the staged package: exports, files, module format of every entry.
//   2. @arethetypeswrong/cli on the tarball: types resolve for every entry point under node10, node16 and bundler.
//      One rule is ignored, on purpose: `cjs-resolves-to-esm`. The packages are ESM only (see tools/release/README.md:
//      a dual build would load a second tfjs engine and a second block registry for `require` users); Node >= 20.19,
//      the version in `engines`, loads them with require() as well.
//   3. The imports of every shipped .js and .d.ts file: relative ones resolve to a shipped file, bare ones name a
//      Node builtin or a package the manifest declares (dependencies, peerDependencies, optionalDependencies), and
//      none reaches into another package's src/ (the `source` condition must not leak into published types).
//   4. The built entry's exported `version` equals the manifest's (a release bumps both; see release.mjs).
//   5. What a registry page shows: the tarball holds a LICENSE, and `license`, `repository` (with the package's
//      `directory`), `homepage` and `bugs` are those of the root package.json (lib/pack.mjs `repositoryFields`).
// The staged package stays in dist/publish/<package folder> (the target's output): `nx release publish` publishes
// that very folder (nx.json: `nx-release-publish` depends on `check-package`).
// Usage: node tools/release/check-package.mjs [packageDir]   (default: the current directory)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { publint } from 'publint';
import ts from 'typescript';
import { formatMessage } from 'publint/utils';
import { packStaged, publishStageDir, repositoryFields, stagePackage } from './lib/pack.mjs';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkgDir = resolve(process.argv[2] ?? process.cwd());
const IGNORED_ATTW_RULES = ['cjs-resolves-to-esm'];

/**
 * Module specifiers a JS or declaration file imports: static and dynamic imports, re-exports, require() calls and
 * `/// <reference path>`, found by TypeScript's own scanner (which knows strings and templates from code).
 */
export function importSpecifiers(text) {
  const info = ts.preProcessFile(text, true, true);
  return [...new Set([...info.importedFiles, ...info.referencedFiles].map((f) => f.fileName))];
}

/** The package name of a bare specifier ('@scope/name/sub' -> '@scope/name'). */
function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Problems with the imports of the shipped files of a staged package. */
export function checkImports(stageDir, manifest, files) {
  const problems = [];
  const declared = new Set([
    manifest.name,
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  const builtins = new Set(builtinModules);
  const shipped = new Set(files.map((f) => normalize(f)));
  const code = files.filter((f) => /\.(m|c)?js$/.test(f) || /\.d\.(m|c)?ts$/.test(f));
  for (const file of code) {
    const text = readFileSync(join(stageDir, file), 'utf8');
    for (const spec of importSpecifiers(text)) {
      if (/(^|\/)src\//.test(spec) || (/\.tsx?$/.test(spec) && !/\.d\.(m|c)?ts$/.test(spec))) {
        problems.push(`${file}: imports ${spec}, a source path (the source condition leaked)`);
        continue;
      }
      if (spec.startsWith('.') || spec.startsWith('/')) {
        if (spec.startsWith('/')) {
          problems.push(`${file}: absolute import ${spec}`);
          continue;
        }
        const target = normalize(join(dirname(file), spec));
        if (target.startsWith('..')) {
          problems.push(`${file}: import ${spec} leaves the package`);
          continue;
        }
        const candidates = [
          target,
          target.replace(/\.(m|c)?js$/, '.d.$1ts'),
          `${target}.js`,
          `${target}.d.ts`,
          join(target, 'index.js'),
          join(target, 'index.d.ts'),
        ];
        if (!candidates.some((c) => shipped.has(c)))
          problems.push(`${file}: import ${spec} resolves to no shipped file`);
        continue;
      }
      if (spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0])) continue;
      const name = packageName(spec);
      if (!declared.has(name))
        problems.push(`${file}: imports ${spec}, but ${name} is not in dependencies or peerDependencies`);
    }
  }
  return problems;
}

/** Problems with the licence and repository fields of a published manifest and its shipped files. */
export function checkMetadata(published, files, pkgDir) {
  const problems = [];
  const rootManifest = JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8'));
  if (!files.some((f) => /^licen[cs]e(\.|$)/i.test(f))) problems.push('no LICENSE file in the tarball');
  if (published.license !== rootManifest.license)
    problems.push(
      `license is ${JSON.stringify(published.license)}, the repository's is ${JSON.stringify(rootManifest.license)}`,
    );
  for (const [field, expected] of Object.entries(repositoryFields(pkgDir))) {
    if (JSON.stringify(published[field]) !== JSON.stringify(expected)) {
      problems.push(`${field} is ${JSON.stringify(published[field])}, expected ${JSON.stringify(expected)}`);
    }
  }
  return problems;
}

async function main() {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const label = `${manifest.name}@${manifest.version}`;
  const work = mkdtempSync(join(tmpdir(), 'mcx-check-'));
  let failed = false;
  try {
    const stageDir = publishStageDir(pkgDir);
    const { files } = stagePackage(pkgDir, stageDir);
    const published = JSON.parse(readFileSync(join(stageDir, 'package.json'), 'utf8'));

    // 1. publint
    const { messages, pkg } = await publint({ pkgDir: stageDir, level: 'suggestion', strict: true, pack: 'npm' });
    const blocking = messages.filter((m) => m.type !== 'suggestion');
    for (const m of messages) console.log(`publint ${m.type}: ${formatMessage(m, pkg) ?? m.code}`);
    console.log(
      `publint: ${blocking.length === 0 ? 'clean' : `${blocking.length} problem(s)`}${messages.length > blocking.length ? ` (${messages.length - blocking.length} suggestion(s))` : ''}`,
    );
    if (blocking.length > 0) failed = true;

    // 2. are the types wrong
    const [{ tarball }] = packStaged([stageDir], join(work, 'tarball'));
    const attwBin = join(workspaceRoot, 'node_modules', '.bin', 'attw');
    try {
      const out = execFileSync(
        attwBin,
        [tarball, '--format', 'ascii', '--no-emoji', '--no-color', '--ignore-rules', ...IGNORED_ATTW_RULES],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      console.log(out.trim());
      console.log(`attw: clean (ignored: ${IGNORED_ATTW_RULES.join(', ')})`);
    } catch (err) {
      console.log(String(err.stdout ?? '').trim(), String(err.stderr ?? '').trim());
      console.log('attw: problems found');
      failed = true;
    }

    // 3. imports of the shipped files
    const problems = checkImports(stageDir, published, files);
    for (const p of problems) console.log(`imports: ${p}`);
    const dts = files.filter((f) => f.endsWith('.d.ts'));
    console.log(
      `imports: ${problems.length === 0 ? 'clean' : `${problems.length} problem(s)`} (${files.length} files, ${dts.length} declaration files)`,
    );
    if (problems.length > 0) failed = true;
    if (dts.length === 0) {
      console.log('imports: no .d.ts shipped');
      failed = true;
    }

    // 4. exported version
    const entry = pathToFileURL(join(pkgDir, 'dist', 'index.js')).href;
    const exported = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(entry)}); process.stdout.write(String(m.version));`,
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    console.log(`version: dist exports ${exported}, package.json says ${manifest.version}`);
    if (exported !== manifest.version) failed = true;

    // 5. licence and repository metadata
    const metadata = checkMetadata(published, files, pkgDir);
    for (const p of metadata) console.log(`metadata: ${p}`);
    console.log(
      `metadata: ${metadata.length === 0 ? `clean (${published.license}, ${published.repository.directory})` : `${metadata.length} problem(s)`}`,
    );
    if (metadata.length > 0) failed = true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`${label}: ${failed ? 'FAILED' : 'ok'} (${relative(workspaceRoot, pkgDir)})`);
  process.exit(failed ? 1 : 0);
}

if (existsSync(join(pkgDir, 'package.json')) && process.argv[1] === fileURLToPath(import.meta.url)) await main();
