// Step timing of the bench child processes: wall and process CPU time per step (CPU time covers every thread of
// the process, so with one thread it ignores the load of other processes).
import { performance } from 'node:perf_hooks';

/** The median (lower middle for an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Runs `warmup` untimed steps, then `iterations` timed ones: { wall, cpu } in ms per step. */
export function timeSteps(trainer, warmup, iterations) {
  for (let i = 0; i < warmup; i++) trainer.step();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < iterations; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    trainer.step();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}
