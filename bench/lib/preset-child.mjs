// Child process of the multichexnet-preset section: the preset step on one thread, timed in process CPU time.
// argv: <repoRoot> <warmup> <iterations>. Prints one JSON line.
import { importPresetPackages, presetTrainer } from './preset.mjs';
import { median, timeSteps } from './time-steps.mjs';

const [repoRoot, warmup, iterations] = process.argv.slice(2);
const pkgs = await importPresetPackages(repoRoot);
const info = await pkgs.core.initBackend('wasm', { threads: 1 });
const trainer = presetTrainer(pkgs);
const { cpu, wall } = timeSteps(trainer, Number(warmup), Number(iterations));
trainer.dispose();
process.stdout.write(
  `${JSON.stringify({ threads: info.threads, cpuMedianMs: median(cpu), wallMedianMs: median(wall), cpu, wall })}\n`,
);
