#!/usr/bin/env node
// The `multichexnet` command (package.json `bin`).
//
// Installed from npm, the package holds dist/ and no src/: this runs the built program.
// In a clone of the repository it runs the TypeScript sources instead, through tsx with the `source` export condition
// (the sibling packages resolve to their src/ too), as `npm run quickstart` does. So `npx multichexnet ...` works
// right after `npm ci`, with nothing built, and never runs a dist/ older than the sources. (npm links a bin into
// node_modules/.bin only when its file exists at install time: this file is committed, dist/bin.js is not.)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
if (!existsSync(sources)) {
  await import('../dist/bin.js');
} else {
  let tsx;
  try {
    // tsx is a development dependency of the repository; the published package never comes here (it has no src/).
    tsx = import.meta.resolve('tsx');
  } catch {
    process.stderr.write(
      'multichexnet: tsx is not installed in this clone; run `npm ci` at the repository root first\n',
    );
    process.exit(1);
  }
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, sources, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // Ctrl-C in a terminal reaches the child too (one process group): `train` then stops after its step, checkpoint
  // kept. Passing it on would be a second SIGINT, which ends the child at once; so this process only waits for it.
  process.on('SIGINT', () => {});
  // These are sent to this process alone: pass them on.
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
}
