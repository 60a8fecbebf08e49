import { join } from 'node:path';
import { formatMetric } from '@multichexnet/core';
import { BUILTIN_PLANS, PLAN_SIZES, loadPlan, train, type TrainingPlan } from '@multichexnet/trainer';
import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import type { RunCalibration, TestEvaluation } from '../report/report-data';
import { settingsWords, taskHeadlines } from '../report/task-headlines';
import { routeLibraryLogs } from './prepare';
import { createTrainProgress } from '../io/train-progress';
import {
  badSamplePolicy,
  completeRun,
  openData,
  planSources,
  resolveDataRoots,
  startBackend,
  writeRunData,
  type DataOptions,
} from '../run/run-folder';
import { interruptible } from '../run/interrupt';

/** Options of `multichexnet train`. */
export interface TrainCommandOptions extends DataOptions {
  size: string;
  seed?: number;
  run?: string;
  runs: string;
  resume?: boolean;
  backend: string;
  export: boolean;
  eval: boolean;
  report: boolean;
}

/**
 * A built-in plan name gets the `--size` suffix unless it names one (`multichexnet-joint:tiny`); anything else is
 * a file path, resolved against the invocation's folder.
 */
export function planSource(plan: string, size: string, resolve: (p: string) => string): string {
  const [name, suffix] = plan.split(':');
  if ((BUILTIN_PLANS as readonly string[]).includes(name!)) return suffix === undefined ? `${name}:${size}` : plan;
  return resolve(plan);
}

/** The `train` verb. */
export async function trainAction(ctx: CommandContext, planArg: string, o: TrainCommandOptions): Promise<void> {
  routeLibraryLogs(ctx);
  if (!(PLAN_SIZES as readonly string[]).includes(o.size))
    throw new UsageError(`--size must be one of ${PLAN_SIZES.join(', ')}; got "${o.size}"`);
  const loaded: TrainingPlan = await loadPlan(
    planSource(planArg, o.size, ctx.path),
    o.seed !== undefined ? { seed: o.seed } : {},
  );
  // A plan's `init` folder is a path like every other on the command line: relative to the current folder.
  const plan: TrainingPlan = loaded.init !== undefined ? { ...loaded, init: ctx.path(loaded.init) } : loaded;
  const roots = await resolveDataRoots(ctx, o);
  const needed = planSources(plan);
  const lacking = needed.filter((s) => roots[s] === undefined);
  if (lacking.length > 0)
    throw new UsageError(
      `plan ${plan.name} trains on ${needed.join(', ')}: give --data <root> or --${lacking[0]} <dir> (missing ${lacking.join(', ')})`,
    );
  const runDir = ctx.path(o.run ?? join(o.runs, plan.name));
  const onBadSample = badSamplePolicy(o.onBadSample);
  await startBackend(ctx, o.backend);
  const data = await openData(roots, plan, plan.split, onBadSample);
  const result = await interruptible(ctx, (signal) =>
    train(plan, { runDir, data, resume: o.resume === true, onEvent: createTrainProgress(ctx.reporter), signal }),
  );
  if (result.status === 'aborted') {
    result.model.dispose();
    throw new Error(
      `training interrupted at ${result.position.phase} step ${result.position.step}; continue with: multichexnet train ${planArg} --run ${runDir} --resume`,
    );
  }
  await writeRunData(runDir, { roots, split: plan.split, onBadSample });
  const outputs = await completeRun(ctx, {
    runDir,
    model: result.model,
    plan,
    data,
    export: o.export,
    evaluate: o.eval,
    report: o.report,
  });
  result.model.dispose();
  const health = outputs.evaluation?.data ?? result.data;
  const summary = {
    run: runDir,
    plan: plan.name,
    status: result.status,
    seconds: result.seconds,
    gate: result.gate,
    validation: result.validation,
    test: outputs.evaluation?.metrics ?? null,
    calibration: outputs.calibration ?? null,
    data: health,
    model: outputs.exported,
    report: outputs.report,
  };
  ctx.emit(summary, [
    `trained ${plan.name} in ${result.seconds.toFixed(0)} s -> ${runDir}`,
    ...(health.totalSkipped > 0
      ? [`  skipped ${health.totalSkipped} bad sample(s): ${skippedText(health.skipped)} (--on-bad-sample skip)`]
      : []),
    ...headlineLines(outputs.evaluation?.metrics ?? null, outputs.evaluation?.calibration),
    ...(outputs.exported ? [`model: ${outputs.exported.model}`] : []),
    ...(outputs.report ? [`report: ${outputs.report}`] : []),
  ]);
}

/** `nih 2, rsna 1` from per-source counts (sources with none left out). */
export function skippedText(skipped: Partial<Record<string, number>>): string {
  return Object.entries(skipped)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
}

/** The headline numbers of an evaluation, one line each, then the decision settings they were measured with. */
export function headlineLines(m: TestEvaluation['metrics'] | null, calibration?: RunCalibration | null): string[] {
  if (m === null) return [];
  const f = (v: unknown): string => formatMetric(v);
  return [
    ...taskHeadlines(m).map((h) => `  ${h.label.padEnd(20)} ${f(h.value)}  (${h.detail})`),
    ...(m.gate ? [`  gate sens / spec     ${f(m.gate.sensitivity)} / ${f(m.gate.specificity)}`] : []),
    ...(calibration
      ? [`  decision settings chosen on val: ${calibrationText(calibration)}`]
      : calibration === null
        ? ['  decision settings: defaults (no validation images)']
        : []),
  ];
}

/**
 * The chosen decision settings in one line, e.g. `14 per-class F1 thresholds, box score >= 0.3, min mask area 41 px`.
 */
export function calibrationText(c: Pick<RunCalibration, 'tasks'>): string {
  return settingsWords(c.tasks).join(', ') || '(none)';
}
