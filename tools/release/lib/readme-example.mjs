// A package README's runnable parts, as a user reads them: the `npm install` line of its "## Install" section and the
// code of its "## Example" section, and how such an example is run. Used by readme-examples.mjs (against the built
// workspace packages) and by the registry consumer test (against packages installed from a registry).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { importSpecifiers } from '../check-package.mjs';

/** The example code block of a README, or null: { lang, code }. */
export function exampleBlock(text) {
  const lines = text.split('\n');
  let start = lines.findIndex((l) => /^##\s+Example\b/.test(l));
  if (start < 0) start = lines.findIndex((l) => /^<!--\s*example:/.test(l));
  if (start < 0) return null;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^##\s/.test(lines[i]) && i > start + 1 && !/^<!--/.test(lines[start])) break;
    const open = /^```(ts|typescript|js|javascript|mjs)\s*$/.exec(lines[i]);
    if (!open) continue;
    const close = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (close < 0) return null;
    return { lang: open[1], code: lines.slice(i + 1, close).join('\n') + '\n' };
  }
  return null;
}

/** Whether an example block is TypeScript (it then runs through tsx). */
export function isTypeScript(block) {
  return /^(ts|typescript)$/.test(block.lang);
}

/**
 * The packages the first `npm install` line of the README's "## Install" section names (flags and comments left out).
 */
export function installLine(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^##\s+Install\b/.test(l));
  if (start < 0) return [];
  for (let i = start + 1; i < lines.length && !/^##\s/.test(lines[i]); i++) {
    const m = /^\s*npm (?:install|i)\s+([^#]*)/.exec(lines[i]);
    if (m)
      return m[1]
        .trim()
        .split(/\s+/)
        .filter((w) => w !== '' && !w.startsWith('-'));
  }
  return [];
}

/** The packages an example's code imports by bare name ('@scope/name/sub' -> '@scope/name'), Node builtins left out. */
export function importedPackages(code) {
  const names = importSpecifiers(code)
    .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
  return [...new Set(names)];
}

/**
 * Writes an example block to `file` and runs it with Node in `cwd` (TypeScript through the workspace's tsx, given by
 * absolute URL so that a project without tsx runs it too). Returns the exit status, output and seconds taken.
 */
export function runExample(block, file, { cwd, timeoutMs = 600_000, env = process.env } = {}) {
  writeFileSync(file, block.code);
  const args = isTypeScript(block) ? ['--import', import.meta.resolve('tsx'), file] : [file];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...env, NODE_OPTIONS: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The last lines of a failed example's output, each cut to a readable length (wasm loaders print megabyte lines). */
export function failureTail(result, lines = 15) {
  return (result.stderr || result.stdout)
    .trim()
    .split('\n')
    .slice(-lines)
    .map((l) => l.slice(0, 300))
    .join('\n');
}
