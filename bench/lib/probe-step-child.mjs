// Child process for sections that need a fresh backend (e.g. another thread count): times probe-net steps and
// prints one JSON line. argv: <repoRoot> <size> <warmup> <iterations> [norm]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { probeTrainer } from './probe-net.mjs';

const [repoRoot, size, warmup, iterations, norm = 'core'] = process.argv.slice(2);
const core = await import(pathToFileURL(join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const info = await core.initBackend('wasm');
const trainer = probeTrainer(core, { size: Number(size), norm });
for (let i = 0; i < Number(warmup); i++) trainer.step();
const samples = [];
for (let i = 0; i < Number(iterations); i++) {
  const t0 = performance.now();
  trainer.step();
  samples.push(performance.now() - t0);
}
trainer.dispose();
const sorted = [...samples].sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ threads: info.threads, medianMs: sorted[Math.floor((sorted.length - 1) / 2)], minMs: sorted[0], samples })}\n`);
