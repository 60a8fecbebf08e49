import { existsSync } from 'node:fs';
import { parseConfig } from '@multichexnet/core';
import { ExperimentConfigSchema, VARIANTS, experimentTable1, experimentTable2, openTrainingData, type ExperimentConfigInput, type ExperimentRuntime, type Table1, type Table2, type Variant } from '@multichexnet/trainer';
import { experimentTable3, experimentTable4, type TransferExperimentConfigInput } from '@multichexnet/transfer';
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
  size: string;
  seed: number;
  /** Unset unless given on the command line: each table then keeps its own default. */
  stepScale?: number;
  variants?: string;
  backend: string;
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
const stepScaleOf = (o: ExperimentOptions): { stepScale?: number } => (o.stepScale !== undefined ? { stepScale: o.stepScale } : {});

/**
 * Table 1 / Table 2 config from the command line (trainer's ExperimentConfigSchema input).
 *
 * @example
 * tablesConfig(ctx, { out: 'runs/t1', size: 'tiny', seed: 0, backend: 'auto' });   // stepScale left to the trainer: 1
 */
export function tablesConfig(ctx: CommandContext, o: ExperimentOptions): ExperimentConfigInput {
  const variants = o.variants?.split(',').map((v) => v.trim()).filter(Boolean);
  const bad = variants?.find((v) => !(VARIANTS as readonly string[]).includes(v));
  if (bad !== undefined) throw new UsageError(`unknown variant "${bad}": expected some of ${VARIANTS.join(', ')}`);
  return { out: ctx.path(o.out), size: o.size as 'tiny', seed: o.seed, ...stepScaleOf(o), ...(variants ? { variants: variants as Variant[] } : {}) };
}

/** Experiment config and runtime from the command line (synthetic data unless --data is given). */
async function experimentInputs(ctx: CommandContext, o: ExperimentOptions): Promise<{ config: ExperimentConfigInput; runtime: ExperimentRuntime }> {
  const config = tablesConfig(ctx, o);
  const resolved = parseConfig(ExperimentConfigSchema, config, 'experiment config');
  const runtime: ExperimentRuntime = { onEvent: createTrainProgress(ctx.reporter) };
  if (o.data !== undefined || o.nih !== undefined || o.rsna !== undefined || o.siim !== undefined) {
    // The same patient split the experiment would use on its own synthetic data.
    runtime.data = await openTrainingData(await resolveDataRoots(ctx, o), { ...resolved.split, seed: resolved.seed });
  }
  return { config, runtime };
}

/** Table 1 / Table 2 of the paper through @multichexnet/trainer's experiment functions. */
export async function runTables(ctx: CommandContext, which: readonly ('table1' | 'table2')[], config: ExperimentConfigInput, runtime: ExperimentRuntime): Promise<{ table1?: Table1; table2?: Table2 }> {
  const out: { table1?: Table1; table2?: Table2 } = {};
  if (which.includes('table1')) out.table1 = await experimentTable1(config, runtime);
  if (which.includes('table2')) out.table2 = await experimentTable2(config, runtime);
  return out;
}

/**
 * Table 3 / Table 4 config from the command line (transfer's TransferExperimentConfigSchema input).
 *
 * @example
 * transferTablesConfig(ctx, { out: 'runs/t3', size: 'tiny', seed: 0, backend: 'auto' });   // stepScale left to transfer: 0.5
 */
export function transferTablesConfig(ctx: CommandContext, o: ExperimentOptions): TransferExperimentConfigInput {
  return {
    out: ctx.path(o.out),
    size: o.size as 'tiny',
    seed: o.seed,
    ...stepScaleOf(o),
    ...(o.seeds !== undefined ? { seeds: o.seeds } : {}),
    ...(o.fineTuneSteps !== undefined ? { fineTune: { steps: o.fineTuneSteps }, nihFineTune: { steps: o.fineTuneSteps }, scratchSteps: o.fineTuneSteps } : {}),
    ...(o.reuse !== undefined ? { reuse: ctx.path(o.reuse) } : {}),
    ...(o.covid !== undefined ? { covid: ctx.path(o.covid) } : {}),
  };
}

/** Table 3 / Table 4 of the paper through @multichexnet/transfer's experiment functions. */
async function runTransferTable(ctx: CommandContext, table: 'table3' | 'table4', o: ExperimentOptions): Promise<{ markdown: string }> {
  for (const [flag, v] of [['--reuse', o.reuse], ['--covid', o.covid]] as const) {
    if (v !== undefined && !existsSync(ctx.path(v))) throw new UsageError(`${flag}: no such folder: ${ctx.path(v)}`);
  }
  const config = transferTablesConfig(ctx, o);
  const runtime = { onEvent: createTrainProgress(ctx.reporter) };
  return table === 'table3' ? experimentTable3(config, runtime) : experimentTable4(config, runtime);
}

/** The `experiment` verb. */
export async function experimentAction(ctx: CommandContext, table: string, o: ExperimentOptions): Promise<void> {
  routeLibraryLogs(ctx);
  if (!(EXPERIMENTS as readonly string[]).includes(table)) throw new UsageError(`unknown experiment "${table}": expected ${EXPERIMENTS.join(', ')}`);
  if (table === 'table3' || table === 'table4') {
    if (o.variants !== undefined || o.data !== undefined || o.nih !== undefined || o.rsna !== undefined || o.siim !== undefined) {
      throw new UsageError(`${table} takes its source models and data from --reuse <table1 folder> or trains them itself: --variants, --data, --nih, --rsna, --siim are for table1 / table2`);
    }
    await startBackend(ctx, o.backend);
    const t = await runTransferTable(ctx, table, o);
    const report = await writeReport(ctx.path(o.out));
    ctx.emit({ [table]: t, report: report.path }, [t.markdown.trimEnd(), '', `report: ${report.path}`]);
    return;
  }
  if (o.reuse !== undefined || o.covid !== undefined || o.seeds !== undefined || o.fineTuneSteps !== undefined) throw new UsageError('--reuse, --covid, --seeds and --fine-tune-steps are for table3 / table4');
  await startBackend(ctx, o.backend);
  const { config, runtime } = await experimentInputs(ctx, o);
  const result = await runTables(ctx, [table as 'table1' | 'table2'], config, runtime);
  const report = await writeReport(ctx.path(o.out));
  const t = result.table1 ?? result.table2!;
  ctx.emit({ ...result, report: report.path }, [t.markdown.trimEnd(), '', `report: ${report.path}`]);
}
