// Child process of the probe-levers section: the same ablation on one thread, timed in process CPU time (which a
// busy shared machine does not distort). argv: <repoRoot> <size> <rounds>. Prints one JSON line.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ablate } from './levers.mjs';

const [repoRoot, size, rounds] = process.argv.slice(2);
const core = await import(pathToFileURL(join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const info = await core.initBackend('wasm', { threads: 1 });
const result = ablate(core, { size: Number(size), rounds: Number(rounds), clock: 'cpu' });
process.stdout.write(`${JSON.stringify({ threads: info.threads, ...result })}\n`);
