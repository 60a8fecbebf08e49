import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { Provenance } from './summary-types';

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/**
 * The command, commit and machine of a run: the commit of the code (the bundle's, or the git checkout the process
 * runs in; null outside one), and whether its tracked files had uncommitted changes.
 */
export function currentProvenance(command: string, startedAt: string, now: Date = new Date()): Provenance {
  // A bundled CLI (scripts/bundle-cli.mjs) carries the commit it was built from.
  const bundled = process.env.MULTICHEXNET_CODE_COMMIT;
  const commit = bundled !== undefined ? bundled.replace(/\+dirty$/, '') : git(['rev-parse', 'HEAD']);
  const status =
    bundled !== undefined
      ? bundled.endsWith('+dirty')
        ? 'dirty'
        : ''
      : commit === null
        ? null
        : git(['status', '--porcelain', '--untracked-files=no']);
  const cpu = cpus();
  return {
    command,
    commit,
    dirty: status === null ? null : status.length > 0,
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
    },
    startedAt,
    updatedAt: now.toISOString(),
  };
}
