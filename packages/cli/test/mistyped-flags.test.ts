import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../src/program';
import { bufferIo, cli, lines } from './helpers';

/*
 * A mistyped flag names itself on every verb, ours and @multichexnet/service's, even when a required option is
 * missing too (commander alone would report the required option: "required option '-m, --model <path>' not
 * specified" for `predict --modle x`).
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-flags-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every verb of the program (a command with an action), as the words that invoke it, with its long flags. */
async function verbs(): Promise<{ words: string[]; flags: string[] }[]> {
  const program = await createProgram(bufferIo(dir).io);
  const out: { words: string[]; flags: string[] }[] = [];
  const visit = (cmd: Command, words: string[]): void => {
    if (cmd.commands.length === 0) {
      const flags = cmd.options.map((o) => o.long).filter((f): f is string => f !== undefined && f !== '--help');
      out.push({ words, flags });
    }
    for (const sub of cmd.commands) visit(sub, [...words, sub.name()]);
  };
  for (const cmd of program.commands) visit(cmd, [cmd.name()]);
  return out;
}

/**
 * A typo of a long flag: two neighbouring letters of its name swapped, the last pair that differs (--model -> --modle).
 */
function typo(flag: string): string {
  const chars = [...flag];
  for (let i = chars.length - 2; i > 2; i--) {
    if (chars[i] !== chars[i + 1]) {
      [chars[i], chars[i + 1]] = [chars[i + 1]!, chars[i]!];
      return chars.join('');
    }
  }
  throw new Error(`no typo for ${flag}`);
}

describe('a mistyped flag', () => {
  it('predict --modle x: the unknown option and its suggestion, not the missing required option', async () => {
    const r = await cli(dir, 'predict', '--modle', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toBe("multichexnet: error: unknown option '--modle' (did you mean --model?)\n");
    expect(r.out).toBe('');
  });

  it('a required option still reports itself when it is missing and nothing is mistyped', async () => {
    const r = await cli(dir, 'predict', 'x.png');
    expect(r.code).toBe(2);
    expect(r.err).toBe("multichexnet: error: required option '-m, --model <path>' not specified\n");
    const t = await cli(dir, 'transfer', '--from', 'runs/x');
    expect(t.err).toBe("multichexnet: error: required option '--covid <dir>' not specified\n");
  });

  it('names itself on every verb, for every one of its flags', async () => {
    const all = await verbs();
    expect(all.map((v) => v.words[0])).toEqual(
      expect.arrayContaining(['predict', 'train', 'synth', 'transfer', 'serve', 'screen']),
    );
    const wrong: string[] = [];
    for (const { words, flags } of all) {
      for (const flag of flags) {
        const mistyped = typo(flag);
        const r = await cli(dir, ...words, mistyped, 'x');
        const said = lines(r.err);
        const ok =
          r.code === 2 &&
          said.length === 1 &&
          said[0]!.startsWith(`multichexnet: error: unknown option '${mistyped}' (did you mean `) &&
          said[0]!.includes(flag);
        if (!ok) wrong.push(`${words.join(' ')} ${mistyped}: exit ${r.code}, ${r.err.trim()}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
