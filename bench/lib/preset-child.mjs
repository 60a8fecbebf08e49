// Child process of the multichexnet-preset section: the preset step on one thread, timed in process CPU time.
// argv: <repoRoot> <warmup> <iterations>. Prints one JSON line.
import { importPresetPackages, presetTrainer } from './preset.mjs';

const [repoRoot, warmup, iterations] = process.argv.slice(2);
const pkgs = await importPresetPackages(repoRoot);
const info = await pkgs.core.initBackend('wasm', { threads: 1 });
const trainer = presetTrainer(pkgs);
for (let i = 0; i < Number(warmup); i++) trainer.step();
const cpu = [];
const wall = [];
for (let i = 0; i < Number(iterations); i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  trainer.step();
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
trainer.dispose();
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
process.stdout.write(`${JSON.stringify({ threads: info.threads, cpuMedianMs: med(cpu), wallMedianMs: med(wall), cpu, wall })}\n`);
