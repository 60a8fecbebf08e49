// Child process for sections that need a fresh backend (e.g. another thread count): times probe-net steps and
// prints one JSON line. argv: <repoRoot> <size> <warmup> <iterations> [norm]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { probeTrainer } from './probe-net.mjs';
import { median, timeSteps } from './time-steps.mjs';

const [repoRoot, size, warmup, iterations, norm = 'core'] = process.argv.slice(2);
const core = await import(pathToFileURL(join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const info = await core.initBackend('wasm');
const trainer = probeTrainer(core, { size: Number(size), norm });
const { wall: samples, cpu } = timeSteps(trainer, Number(warmup), Number(iterations));
trainer.dispose();
// CPU time of the whole process (main thread, XNNPACK pool, helpers): with 1 thread it ignores other load.
process.stdout.write(
  `${JSON.stringify({ threads: info.threads, medianMs: median(samples), minMs: Math.min(...samples), cpuMedianMs: median(cpu), samples, cpuSamples: cpu })}\n`,
);
