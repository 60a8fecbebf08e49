import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../src/program';
import { version } from '../src/version';
import { REPO_ROOT, bufferIo, shellEnv } from './helpers';

/*
 * Every concrete `multichexnet ...` / `npx multichexnet ...` command in the READMEs parses against the real program:
 * its verb exists, its flags are the verb's, its required options and arguments are there. Nothing runs (the
 * commands name runs and films a reader has, not this checkout); what each verb does is tested in its own file, and
 * the quickstart test runs the `npx multichexnet predict ...` line the quickstart prints. Synopsis lines
 * (`[--out dir]`, `<run>`, `a|b`, `...`) and shell variables are not commands and are left out.
 */
const READMES = [
  'README.md',
  'packages/cli/README.md',
  'packages/service/README.md',
  'packages/trainer/README.md',
  'packages/transfer/README.md',
];

interface ReadmeCommand {
  where: string;
  argv: string[];
}

/**
 * The concrete commands of a README's code blocks: `\` continuations joined, `&&` chains split, comments and redirects
 * cut.
 */
function commandsOf(file: string): ReadmeCommand[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const out: ReadmeCommand[] = [];
  let inCode = false;
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.startsWith('```')) {
      inCode = !inCode;
      continue;
    }
    if (!inCode) continue;
    let line = rows[i]!;
    const at = i + 1;
    while (line.endsWith('\\') && i + 1 < rows.length) line = `${line.slice(0, -1)} ${rows[++i]!.trim()}`;
    for (let part of line.replace(/\s+#.*$/, '').split('&&')) {
      part = part.replace(/\s*>.*$/, '').trim();
      if (!/^(npx )?multichexnet /.test(part)) continue;
      if (/[[\]<|$]|\.\.\./.test(part)) continue;
      out.push({ where: `${file}:${at}`, argv: part.replace(/^npx /, '').split(/\s+/).slice(1) });
    }
  }
  return out;
}

/** Thrown by the leaf command's last preAction hook: the line parsed and the action would run now. */
class Parsed extends Error {}

function stopBeforeActions(cmd: Command): void {
  if (cmd.commands.length === 0) {
    cmd.hook('preAction', () => {
      throw new Parsed();
    });
  }
  for (const sub of cmd.commands) stopBeforeActions(sub);
}

/** Parses `argv` as `multichexnet` would; returns '' when it reaches a verb's action, else what it printed. */
async function parse(argv: string[]): Promise<string> {
  const b = bufferIo(REPO_ROOT);
  const program = await createProgram(b.io);
  stopBeforeActions(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return `no action ran: ${b.err()}`;
  } catch (e) {
    if (e instanceof Parsed) return '';
    return `${e instanceof Error ? e.message : String(e)} ${b.err()}`.trim();
  }
}

const commands = READMES.flatMap(commandsOf);

describe('the commands in the READMEs', () => {
  it('are found (the extraction did not go blind)', () => {
    expect(commands.length).toBeGreaterThanOrEqual(20);
    expect(commands.map((c) => c.argv[0])).toEqual(
      expect.arrayContaining(['quickstart', 'predict', 'train', 'eval', 'export', 'serve', 'screen']),
    );
  });

  it.each(commands.map((c) => [`${c.where}: multichexnet ${c.argv.join(' ')}`, c] as const))(
    '%s parses',
    async (_name, c) => {
      expect(await parse(c.argv)).toBe('');
    },
  );

  it('a README command with a mistyped flag would fail here (the check can fail)', async () => {
    expect(await parse(['predict', '--modle', 'runs/quickstart', 'xray.dcm'])).toMatch(/unknown option '--modle'/);
    expect(await parse(['trian', 'multichexnet-joint'])).toMatch(/unknown command 'trian'/);
  });

  it('`npx multichexnet` from the repository root runs the workspace bin (never the registry)', () => {
    const r = spawnSync('npx', ['--no-install', 'multichexnet', '--version'], {
      cwd: REPO_ROOT,
      env: shellEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});
