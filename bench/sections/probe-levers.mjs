// What each lever of the wasm training backend is worth on the probe net (128 px, batch 16): the step time with
// everything on, and with one lever taken away at a time (stock kernel put back, env switch, or tfjs's own
// BatchNormalization). Two measurements of the same ablation:
// - in this process with the default threads, wall clock, variants interleaved round by round so a busy CPU
//   slows them alike;
// - in a child process on one thread, in process CPU time, which other load on the machine does not distort.
// The threads lever itself is the 'all levers' step with the default threads against one thread (wall clock).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ablate } from '../lib/levers.mjs';
import { oursInChild } from '../lib/probe-net.mjs';

export const name = 'probe-levers';
export const description = 'probe net at 128 px: step time with all levers, and with each lever removed (ablation)';
export const packages = ['core'];

export async function run(ctx) {
  const core = await ctx.importPackage('core');
  const info = await core.initBackend('wasm');
  const size = 128;
  const rounds = ctx.quick ? 3 : 9;
  const wall = ablate(core, { size, rounds, clock: 'wall' });
  for (const l of wall.levers)
    ctx.log(`wall, ${info.threads} threads: ${l.lever}: ${l.withoutMs.toFixed(0)} -> ${l.withMs.toFixed(0)} ms`);

  const child = spawnSync(
    process.execPath,
    [join(ctx.repoRoot, 'bench', 'lib', 'levers-child.mjs'), ctx.repoRoot, String(size), String(rounds)],
    {
      encoding: 'utf8',
      env: { ...process.env, MULTICHEXNET_WASM_THREADS: '1', MULTICHEXNET_LOG: 'warn' },
    },
  );
  let cpu1 = null;
  if (child.status === 0) {
    cpu1 = JSON.parse(child.stdout.trim().split('\n').pop());
    for (const l of cpu1.levers)
      ctx.log(`CPU time, 1 thread: ${l.lever}: ${l.withoutMs.toFixed(0)} -> ${l.withMs.toFixed(0)} ms`);
  } else {
    cpu1 = { error: child.stderr.slice(-800) };
  }

  let threads = null;
  if (info.threads > 1) {
    const one = await oursInChild(ctx, { size, warmup: 2, steps: rounds, threads: 1 });
    threads = {
      lever: `${info.threads} XNNPACK + helper threads (vs 1)`,
      withoutMs: one.medianMs,
      withMs: wall.allLeversMs,
      savesMs: one.medianMs - wall.allLeversMs,
    };
  }
  return {
    backend: { name: info.name, threads: info.threads },
    size,
    batch: 16,
    rounds,
    wallClock: wall,
    oneThreadCpuTime: cpu1,
    threads,
  };
}
