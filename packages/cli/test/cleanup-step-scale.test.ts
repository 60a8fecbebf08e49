import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@multichexnet/core';
import { ExperimentConfigSchema } from '@multichexnet/trainer';
import { TransferExperimentConfigSchema } from '@multichexnet/transfer';
import { tablesConfig, transferTablesConfig, type ExperimentOptions } from '../src/actions/experiment';
import { createContext } from '../src/context';
import { createProgram } from '../src/program';
import { bufferIo } from './helpers';

/** The options `multichexnet experiment <argv>` hands its action, parsed by the real program (action replaced). */
async function experimentOptions(...argv: string[]): Promise<ExperimentOptions> {
  const { io } = bufferIo('/tmp');
  const program = await createProgram(io, { service: false });
  const cmd = program.commands.find((c) => c.name() === 'experiment')!;
  let seen: ExperimentOptions | null = null;
  cmd.action((_table: string, o: ExperimentOptions, _c: Command) => {
    seen = o;
  });
  await program.parseAsync(['experiment', ...argv], { from: 'user' });
  return seen!;
}

const ctx = createContext(bufferIo('/tmp').io, { quiet: true });

describe('experiment --step-scale reaches the experiment functions only when given', () => {
  it('leaves table3 / table4 their own 0.5 and table1 / table2 their own 1 when omitted', async () => {
    const o = await experimentOptions('table3');
    expect(o.stepScale).toBeUndefined();
    expect('stepScale' in transferTablesConfig(ctx, o)).toBe(false);
    expect(parseConfig(TransferExperimentConfigSchema, transferTablesConfig(ctx, o), 'transfer experiment').stepScale).toBe(0.5);
    expect(parseConfig(ExperimentConfigSchema, tablesConfig(ctx, await experimentOptions('table1')), 'experiment').stepScale).toBe(1);
  });

  it('passes the value the user set, to every table, even when it equals a default', async () => {
    for (const x of ['0.05', '1']) {
      const o3 = await experimentOptions('table3', '--step-scale', x);
      expect(parseConfig(TransferExperimentConfigSchema, transferTablesConfig(ctx, o3), 'transfer experiment').stepScale).toBe(Number(x));
      const o1 = await experimentOptions('table1', '--step-scale', x);
      expect(parseConfig(ExperimentConfigSchema, tablesConfig(ctx, o1), 'experiment').stepScale).toBe(Number(x));
    }
  });

  it('still refuses a step scale out of range', async () => {
    await expect(experimentOptions('table3', '--step-scale', '0')).rejects.toThrow(/step-scale/);
  });
});
