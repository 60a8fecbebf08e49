import { existsSync } from 'node:fs';
import { parseConfig } from '@multichexnet/core';
import {
  ExperimentConfigSchema,
  VARIANTS,
  experimentSeries,
  experimentTransferSeries,
  experimentTable1,
  experimentTable2,
  experimentTable3,
  experimentTable4,
  freezeProtocol,
  defaultProtocolPath,
  protocolPlan,
  type ExperimentConfigInput,
  type ExperimentRuntime,
  type SeriesConfigInput,
  type SeriesRuntime,
  type Table1,
  type Table2,
  type TransferExperimentConfigInput,
  type Variant,
} from '@multichexnet/experiments';
import { openTrainingData } from '@multichexnet/trainer';
import { UsageError } from '../cli-error';
import { EXPERIMENTS } from '../commands/names';
import type { CommandContext } from '../context';
import { createTrainProgress } from '../io/train-progress';
import { writeReport } from '../report/load-run';
import { resolveDataRoots, startBackend, type DataOptions } from '../run/run-folder';
import { routeLibraryLogs } from './prepare';

/** Options of `multichexnet experiment`. */
export interface ExperimentOptions extends DataOptions {
  out: string;
  /** table3 / table4: plan size of the source protocol. */
  size?: string;
  /** table3 / table4: seed of the data and source plans. */
  seed?: number;
  /** table3 / table4 only (table1 / table2 take theirs from the protocol's series). */
  stepScale?: number;
  variants?: string;
  backend: string;
  /** table1 / table2: the protocol's series, its seeds, continuing a folder, the protocol file. */
  series: string;
  seedList?: string;
  resume?: boolean;
  protocol?: string;
  allowUnfrozen?: boolean;
  /** table3 / table4: a Table 1 / quickstart folder whose trained models and data to reuse. */
  reuse?: string;
  /** table3 / table4: a COVID-19 collection folder (default synthetic). */
  covid?: string;
  /** table3: fine-tuning repeats per row. */
  seeds?: number;
  /** table3 / table4: steps of every fine-tuning run (and of the from-scratch row). */
  fineTuneSteps?: number;
}

/** `stepScale` only when the user gave it, so the experiment functions' own defaults apply otherwise. */
const stepScaleOf = (o: ExperimentOptions): { stepScale?: number } =>
  o.stepScale !== undefined ? { stepScale: o.stepScale } : {};

function variantsOf(o: ExperimentOptions): Variant[] | undefined {
  const variants = o.variants
    ?.split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const bad = variants?.find((v) => !(VARIANTS as readonly string[]).includes(v));
  if (bad !== undefined) throw new UsageError(`unknown variant "${bad}": expected some of ${VARIANTS.join(', ')}`);
  return variants as Variant[] | undefined;
}

/** `100,101` or `100-104` as seeds. */
export function parseSeedList(text: string): number[] {
  const out: number[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new UsageError(`--seed-list: "${part}" is not a seed or a range like 100-104`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UsageError(`--seed-list: the range ${part} runs backwards`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  if (out.length === 0) throw new UsageError('--seed-list: no seed given');
  return out;
}

/**
 * Table 1 / Table 2 series config from the command line (@multichexnet/experiments' SeriesConfigSchema input).
 *
 * @example
 * seriesConfig(ctx, { out: 'runs/series-tiny', series: 'tiny', backend: 'auto' }, 'multichexnet experiment table1');
 */
export function seriesConfig(ctx: CommandContext, o: ExperimentOptions, command: string): SeriesConfigInput {
  const variants = variantsOf(o);
  return {
    out: ctx.path(o.out),
    series: o.series,
    command,
    ...(o.seedList !== undefined ? { seeds: parseSeedList(o.seedList) } : {}),
    ...(o.protocol !== undefined ? { protocol: ctx.path(o.protocol) } : {}),
    ...(o.resume === true ? { resume: true } : {}),
    ...(o.allowUnfrozen === true ? { allowUnfrozen: true } : {}),
    ...(variants ? { variants } : {}),
  };
}

/** Table 1 / Table 2 of one seed in one folder (the quickstart's), through @multichexnet/experiments. */
export async function runTables(
  ctx: CommandContext,
  which: readonly ('table1' | 'table2')[],
  config: ExperimentConfigInput,
  runtime: ExperimentRuntime,
): Promise<{ table1?: Table1; table2?: Table2 }> {
  const out: { table1?: Table1; table2?: Table2 } = {};
  if (which.includes('table1')) out.table1 = await experimentTable1(config, runtime);
  if (which.includes('table2')) out.table2 = await experimentTable2(config, runtime);
  return out;
}

/**
 * Table 3 / Table 4 config from the command line (@multichexnet/experiments' TransferExperimentConfigSchema input).
 *
 * @example
 * transferTablesConfig(ctx, { out: 'runs/t3', size: 'tiny', seed: 0, series: 'tiny', backend: 'auto' });   // stepScale left to the table: 0.5
 */
export function transferTablesConfig(ctx: CommandContext, o: ExperimentOptions): TransferExperimentConfigInput {
  return {
    out: ctx.path(o.out),
    size: (o.size ?? 'tiny') as 'tiny',
    seed: o.seed ?? 0,
    ...stepScaleOf(o),
    ...(o.seeds !== undefined ? { seeds: o.seeds } : {}),
    ...(o.fineTuneSteps !== undefined
      ? { fineTune: { steps: o.fineTuneSteps }, nihFineTune: { steps: o.fineTuneSteps }, scratchSteps: o.fineTuneSteps }
      : {}),
    ...(o.reuse !== undefined ? { reuse: ctx.path(o.reuse) } : {}),
    ...(o.covid !== undefined ? { covid: ctx.path(o.covid) } : {}),
  };
}

/** Table 3 / Table 4 of the paper through @multichexnet/experiments. */
async function runTransferTable(
  ctx: CommandContext,
  table: 'table3' | 'table4',
  o: ExperimentOptions,
): Promise<{ markdown: string }> {
  for (const [flag, v] of [
    ['--reuse', o.reuse],
    ['--covid', o.covid],
  ] as const) {
    if (v !== undefined && !existsSync(ctx.path(v))) throw new UsageError(`${flag}: no such folder: ${ctx.path(v)}`);
  }
  const config = transferTablesConfig(ctx, o);
  const runtime = { onEvent: createTrainProgress(ctx.reporter) };
  return table === 'table3' ? experimentTable3(config, runtime) : experimentTable4(config, runtime);
}

const commandLine = (): string => ['multichexnet', ...process.argv.slice(2)].join(' ');

/** The `experiment` verb. */
export async function experimentAction(ctx: CommandContext, table: string, o: ExperimentOptions): Promise<void> {
  routeLibraryLogs(ctx);
  if (!(EXPERIMENTS as readonly string[]).includes(table))
    throw new UsageError(`unknown experiment "${table}": expected ${EXPERIMENTS.join(', ')}`);
  if (table === 'freeze') {
    const file = o.protocol !== undefined ? ctx.path(o.protocol) : defaultProtocolPath();
    const p = await freezeProtocol(file, (s, v, protocol) =>
      protocolPlan({ size: s.size, stepScale: s.stepScale, ablations: protocol.ablations }, v),
    );
    ctx.emit({ protocol: file, sha256: p.sha256, frozenAt: p.frozenAt, plans: Object.keys(p.protocol.plans).length }, [
      `protocol ${file} frozen at ${p.frozenAt}: sha256 ${p.sha256} (${Object.keys(p.protocol.plans).length} plans)`,
    ]);
    return;
  }
  if (
    (table === 'table3' || table === 'table4') &&
    o.reuse === undefined &&
    existsSync(`${ctx.path(o.out)}/provenance.json`)
  ) {
    // A Table 1 series folder: Tables 3 and 4 over its finished seeds.
    if (
      o.size !== undefined ||
      o.seed !== undefined ||
      o.stepScale !== undefined ||
      o.seeds !== undefined ||
      o.fineTuneSteps !== undefined
    ) {
      throw new UsageError(
        'table3 / table4 on a series folder take size, steps and seeds from the protocol: use --series and --seed-list',
      );
    }
    await startBackend(ctx, o.backend);
    const r = await experimentTransferSeries(
      {
        out: ctx.path(o.out),
        series: o.series,
        command: commandLine(),
        ...(o.seedList !== undefined ? { seeds: parseSeedList(o.seedList) } : {}),
        ...(o.protocol !== undefined ? { protocol: ctx.path(o.protocol) } : {}),
        ...(o.allowUnfrozen === true ? { allowUnfrozen: true } : {}),
      },
      { onEvent: createTrainProgress(ctx.reporter) },
    );
    const md = await (await import('node:fs/promises')).readFile(`${ctx.path(o.out)}/${table}.md`, 'utf8');
    ctx.emit({ [table]: table === 'table3' ? r.table3 : r.table4, protocol: r.protocol.sha256 }, [md.trimEnd()]);
    return;
  }
  if (table === 'table3' || table === 'table4') {
    if (
      o.variants !== undefined ||
      o.data !== undefined ||
      o.nih !== undefined ||
      o.rsna !== undefined ||
      o.siim !== undefined ||
      o.seedList !== undefined ||
      o.resume === true
    ) {
      throw new UsageError(
        `${table} takes its source models and data from --reuse <table1 folder> or trains them itself: --variants, --data, --nih, --rsna, --siim, --seed-list and --resume are for table1 / table2`,
      );
    }
    await startBackend(ctx, o.backend);
    const t = await runTransferTable(ctx, table, o);
    const report = await writeReport(ctx.path(o.out));
    ctx.emit({ [table]: t, report: report.path }, [t.markdown.trimEnd(), '', `report: ${report.path}`]);
    return;
  }
  if (o.reuse !== undefined || o.covid !== undefined || o.seeds !== undefined || o.fineTuneSteps !== undefined)
    throw new UsageError('--reuse, --covid, --seeds and --fine-tune-steps are for table3 / table4');
  if (o.size !== undefined || o.seed !== undefined || o.stepScale !== undefined) {
    throw new UsageError(
      'table1 / table2 take the plan size, step scale and seeds from the protocol: use --series <name> and --seed-list (or --protocol <file> for another protocol)',
    );
  }
  await startBackend(ctx, o.backend);
  const runtime: SeriesRuntime = { onEvent: createTrainProgress(ctx.reporter) };
  if (o.data !== undefined || o.nih !== undefined || o.rsna !== undefined || o.siim !== undefined) {
    // Every seed shares the given data, split by patient with the experiments' split and seed 0.
    const split = parseConfig(ExperimentConfigSchema, { out: '-' }, 'experiment config').split;
    runtime.data = await openTrainingData(await resolveDataRoots(ctx, o), { ...split, seed: 0 });
  }
  const r = await experimentSeries(seriesConfig(ctx, o, commandLine()), runtime);
  const t = table === 'table1' ? r.table1 : r.table2;
  const md = (await import('node:fs/promises')).readFile(`${ctx.path(o.out)}/${table}.md`, 'utf8');
  ctx.emit({ [table]: t, protocol: r.protocol.sha256 }, [(await md).trimEnd()]);
}
