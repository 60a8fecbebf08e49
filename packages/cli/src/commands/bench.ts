import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import { examples } from './options';

/** The repository's bench runner above `from`, or null (an npm-installed CLI has none). */
export function findBenchRunner(from: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'bench', 'run.mjs');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

interface BenchOptions {
  only?: string;
  quick?: boolean;
  out?: string;
  list?: boolean;
  repo?: string;
}

/** Registers `multichexnet bench`. */
export function registerBench(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('bench')
    .summary("run the repository's benchmarks (bench/run.mjs)")
    .description(
      'Runs the benchmark sections of a MultiCheXNet-TS checkout (training step vs PyTorch, data loading, ONNX ' +
        'inference, ...), each in its own process, and prints their JSON document. Looks for bench/run.mjs in the ' +
        'current folder and its parents, or under --repo.',
    )
    .option('--only <sections>', 'comma-separated section names')
    .option('--quick', 'fewer iterations')
    .option('--out <file>', 'write the JSON document to a file')
    .option('--list', 'list the sections and exit')
    .option('--repo <dir>', 'repository root holding bench/run.mjs')
    .addHelpText('after', examples('multichexnet bench --only probe-net --quick'))
    .action(async (opts: BenchOptions, cmd: Command) => {
      const ctx = context(cmd);
      const runner = findBenchRunner(opts.repo !== undefined ? ctx.path(opts.repo) : ctx.io.cwd);
      if (runner === null)
        throw new UsageError(
          'no bench/run.mjs here or in a parent folder: run inside a MultiCheXNet-TS checkout, or pass --repo <dir>',
        );
      const args = [
        runner,
        ...(opts.only ? ['--only', opts.only] : []),
        ...(opts.quick ? ['--quick'] : []),
        ...(opts.out ? ['--out', ctx.path(opts.out)] : []),
        ...(opts.list ? ['--list'] : []),
      ];
      // The runner prints its JSON on stdout and a table on stderr; both pass through unchanged.
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, args, {
          cwd: dirname(dirname(runner)),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.on('data', (b: Buffer) => ctx.io.stdout.write(b.toString()));
        child.stderr.on('data', (b: Buffer) => ctx.io.stderr.write(b.toString()));
        child.on('error', reject);
        child.on('close', (c) => resolve(c ?? 1));
      });
      if (code !== 0) throw new Error(`bench/run.mjs exited with code ${code}`);
    });
}
