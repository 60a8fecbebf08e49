// Child of the stock-layers section: training steps of a net built from stock tfjs layers, in a fresh process
// (own backend; env such as MULTICHEXNET_LAYERS_BN from the parent). argv: <repoRoot> <net: probe|seg> <size>
// <batch> <warmup> <steps>. Prints one JSON line.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { probeTrainer } from './probe-net.mjs';
import { stockSegTrainer } from './stock-seg-net.mjs';
import { median, timeSteps } from './time-steps.mjs';

const [repoRoot, net, size, batch, warmup, steps] = process.argv.slice(2);
const core = await import(pathToFileURL(join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const info = await core.initBackend('wasm');
const loadBefore = loadavg()[0];
const trainer =
  net === 'probe'
    ? probeTrainer(core, { size: Number(size), batch: Number(batch), norm: 'stock' })
    : stockSegTrainer(core.tf, { size: Number(size), batch: Number(batch) });
const { wall, cpu } = timeSteps(trainer, Number(warmup), Number(steps));
trainer.dispose();
process.stdout.write(
  `${JSON.stringify({ threads: info.threads, medianMs: median(wall), cpuMedianMs: median(cpu), samples: wall, loadAvg1m: [loadBefore, loadavg()[0]] })}\n`,
);
process.exit(0);
