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
const cpu = [];
for (let i = 0; i < Number(iterations); i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  trainer.step();
  samples.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
trainer.dispose();
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
// CPU time of the whole process (main thread, XNNPACK pool, helpers): with 1 thread it ignores other load.
process.stdout.write(`${JSON.stringify({ threads: info.threads, medianMs: med(samples), minMs: Math.min(...samples), cpuMedianMs: med(cpu), samples, cpuSamples: cpu })}\n`);
