import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@multichexnet/core';
import { SeriesConfigSchema, TransferExperimentConfigSchema } from '@multichexnet/experiments';
import {
  experimentAction,
  parseSeedList,
  seriesConfig,
  transferTablesConfig,
  type ExperimentOptions,
} from '../src/actions/experiment';
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

describe('experiment --step-scale reaches the transfer tables only when given', () => {
  it('leaves table3 / table4 their own 0.5 when omitted', async () => {
    const o = await experimentOptions('table3');
    expect(o.stepScale).toBeUndefined();
    expect('stepScale' in transferTablesConfig(ctx, o)).toBe(false);
    expect(
      parseConfig(TransferExperimentConfigSchema, transferTablesConfig(ctx, o), 'transfer experiment').stepScale,
    ).toBe(0.5);
  });

  it('passes the value the user set, even when it equals a default', async () => {
    for (const x of ['0.05', '0.5']) {
      const o3 = await experimentOptions('table3', '--step-scale', x);
      expect(
        parseConfig(TransferExperimentConfigSchema, transferTablesConfig(ctx, o3), 'transfer experiment').stepScale,
      ).toBe(Number(x));
    }
  });

  it('still refuses a step scale out of range', async () => {
    await expect(experimentOptions('table3', '--step-scale', '0')).rejects.toThrow(/step-scale/);
  });
});

describe('table1 / table2 take size, step scale and seeds from the protocol', () => {
  it('builds the series config from --series, --seed-list, --resume and --protocol', async () => {
    const o = await experimentOptions(
      'table1',
      '--series',
      'small',
      '--seed-list',
      '100-102,104',
      '--resume',
      '--protocol',
      'p.json',
      '--out',
      'runs/s',
    );
    const c = parseConfig(SeriesConfigSchema, seriesConfig(ctx, o, 'multichexnet experiment table1'), 'series');
    expect(c).toMatchObject({
      series: 'small',
      seeds: [100, 101, 102, 104],
      resume: true,
      protocol: '/tmp/p.json',
      out: '/tmp/runs/s',
      allowUnfrozen: false,
    });
    expect(
      parseConfig(SeriesConfigSchema, seriesConfig(ctx, await experimentOptions('table1'), 'x'), 'series'),
    ).toMatchObject({ series: 'tiny', resume: false });
  });

  it('refuses --step-scale, --size and --seed for table1 / table2 with a usage error', async () => {
    for (const flags of [
      ['--step-scale', '0.5'],
      ['--size', 'small'],
      ['--seed', '3'],
    ]) {
      const o = await experimentOptions('table1', ...flags);
      await expect(experimentAction(ctx, 'table1', o)).rejects.toThrow(/from the protocol: use --series/);
    }
  });

  it('reads seed lists and ranges, and names a bad one', () => {
    expect(parseSeedList('100-104')).toEqual([100, 101, 102, 103, 104]);
    expect(parseSeedList('7, 9')).toEqual([7, 9]);
    expect(() => parseSeedList('104-100')).toThrow(/runs backwards/);
    expect(() => parseSeedList('a')).toThrow(/"a" is not a seed/);
  });
});
