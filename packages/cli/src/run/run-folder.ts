import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, RUN_FILES, initBackend, runFolder, writeFileAtomic, type BackendName } from '@multichexnet/core';
import type { BadSamplePolicy, SplitConfig } from '@multichexnet/data';
import { loadMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import {
  openTrainingData,
  parsePlan,
  type DatasetRoots,
  type PlanSource,
  type TrainingData,
  type TrainingPlan,
} from '@multichexnet/trainer';
import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import { writeReport } from '../report/load-run';
import { runCalibrationOf, type RunCalibration } from '../report/report-data';
import { calibrateRun, evaluateRun, splitSets } from './evaluate-run';
import { exportRunModel, type ExportedFiles } from './export-model';
import { writeGallery } from './gallery';
import {
  fitRunProbability,
  testReliability,
  writeRunOod,
  writeRunTemperature,
  type RunOod,
  type RunTemperature,
} from './fit-probability';
import { readOptionalJson } from '../io/read-json';

/** `data.json` of a run: where its datasets are and how they were split, so `eval` finds its test set again. */
export const DATA_FILE = RUN_FILES.data;

/** Data options shared by train, eval and transfer. */
export interface DataOptions {
  data?: string;
  nih?: string;
  rsna?: string;
  siim?: string;
  /** `--on-bad-sample`: 'fail' (default) stops at the first bad label row or image, 'skip' counts and goes on. */
  onBadSample?: string;
}

/** The `--on-bad-sample` value, checked (a usage error names the allowed ones). */
export function badSamplePolicy(value: string | undefined, fallback: BadSamplePolicy = 'fail'): BadSamplePolicy {
  if (value === undefined) return fallback;
  if (value !== 'skip' && value !== 'fail')
    throw new UsageError(`--on-bad-sample must be skip or fail; got "${value}"`);
  return value;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Dataset folders from `--data <root>` (its nih/, rsna/, siim/ sub-folders, as `synth` writes them) and the
 * per-dataset flags, which win. Every folder named must exist.
 */
export async function resolveDataRoots(ctx: CommandContext, o: DataOptions): Promise<DatasetRoots> {
  const roots: DatasetRoots = {};
  if (o.data !== undefined) {
    const root = ctx.path(o.data);
    if (!(await exists(root))) throw new UsageError(`no such data folder: ${root}`);
    for (const s of ['nih', 'rsna', 'siim'] as const) if (await exists(join(root, s))) roots[s] = join(root, s);
    if (Object.keys(roots).length === 0)
      throw new UsageError(
        `${root} holds none of nih/, rsna/, siim/ (write one with "multichexnet synth --out ${o.data}")`,
      );
  }
  for (const s of ['nih', 'rsna', 'siim'] as const) {
    const v = o[s];
    if (v === undefined) continue;
    const p = ctx.path(v);
    if (!(await exists(p))) throw new UsageError(`no such ${s} folder: ${p}`);
    roots[s] = p;
  }
  return roots;
}

/** The datasets a plan trains on. */
export function planSources(plan: TrainingPlan): PlanSource[] {
  return [...new Set(plan.phases.flatMap((p) => p.batches.flatMap((b) => b.datasets)))];
}

/** Opens the given roots with a patient split (default the plan's) and a bad-sample policy (default 'fail'). */
export async function openData(
  roots: DatasetRoots,
  plan: TrainingPlan,
  split: SplitConfig = plan.split,
  onBadSample: BadSamplePolicy = 'fail',
): Promise<TrainingData> {
  return openTrainingData(roots, split, { onBadSample });
}

/**
 * What `data.json` records: the dataset folders, the patient split the run's test set comes from, and the
 * bad-sample policy the run trained with (eval uses it too unless told otherwise).
 */
export interface RunData {
  roots: DatasetRoots;
  split: SplitConfig;
  onBadSample?: BadSamplePolicy;
}

/** Records where a run's data is and how it was split. */
export async function writeRunData(runDir: string, data: RunData): Promise<void> {
  await writeFileAtomic(runFolder(runDir).data, `${JSON.stringify(data, null, 2)}\n`);
}

/** The data a run recorded, or null. */
export async function readRunData(runDir: string): Promise<RunData | null> {
  try {
    return JSON.parse(await readFile(runFolder(runDir).data, 'utf8')) as RunData;
  } catch {
    return null;
  }
}

/** A finished run's plan and trained model (`plan.json` + `weights/`). */
export async function openRun(runDir: string): Promise<{ plan: TrainingPlan; model: MultiCheXNet }> {
  try {
    if (!(await stat(runDir)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new UsageError(`no such run folder: ${runDir}`);
  }
  const run = runFolder(runDir);
  const planFile = run.plan;
  let text: string;
  try {
    text = await readFile(planFile, 'utf8');
  } catch {
    throw new UsageError(`${runDir} is not a run folder: it has no ${RUN_FILES.plan}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataError('plan.json is not valid JSON', { file: planFile, found: (e as Error).message });
  }
  const plan = parsePlan(json);
  if (!(await exists(run.modelSpec)))
    throw new UsageError(
      `${runDir} has no trained weights yet (weights/model.json): finish training first (multichexnet train ... --resume)`,
    );
  return { plan, model: await loadMultiCheXNet(run.weights) };
}

/** Starts the tfjs backend a verb trains or evaluates on. */
export async function startBackend(ctx: CommandContext, name: string): Promise<void> {
  const allowed = ['auto', 'tensorflow', 'wasm', 'cpu'];
  if (!allowed.includes(name)) throw new UsageError(`--backend must be one of ${allowed.join(', ')}; got "${name}"`);
  // initBackend logs which backend it chose and why (through the reporter).
  await initBackend(name as BackendName);
}

/** Records the decision settings chosen on validation (`calibration.json`), the ones `export` writes into the model. */
export async function writeRunCalibration(runDir: string, calibration: RunCalibration | null): Promise<void> {
  await writeFileAtomic(runFolder(runDir).calibration, `${JSON.stringify(calibration, null, 2)}\n`);
}

/** The decision settings a run recorded: undefined when it has no calibration.json, null when it found no validation images. */
export async function readRunCalibration(runDir: string): Promise<RunCalibration | null | undefined> {
  const json = await readOptionalJson(runFolder(runDir).calibration, { message: 'calibration.json is not valid JSON' });
  return json === undefined ? undefined : runCalibrationOf(json);
}

/** What the post-training steps produced. */
export interface RunOutputs {
  /** Decision settings chosen on the validation split (null: no validation images; undefined: not calibrated). */
  calibration?: RunCalibration | null;
  exported: ExportedFiles | null;
  evaluation: Awaited<ReturnType<typeof evaluateRun>> | null;
  galleryItems: number;
  report: string | null;
  /** OOD statistics and temperatures fitted after training (run/fit-probability.ts); absent when not fitted. */
  ood?: RunOod | null;
  temperature?: RunTemperature | null;
}

/**
 * The steps after training that complete a run folder, each optional: choose the decision settings on the
 * validation split (`calibration.json`, as Table 1 does), export the ONNX files with them, evaluate the test split
 * with them (`eval-test.json`; `split: 'val'` evaluates the validation split with its own choice), render the
 * gallery through the exported pipeline, write report.html.
 */
export async function completeRun(
  ctx: CommandContext,
  args: {
    runDir: string;
    model: MultiCheXNet;
    plan: TrainingPlan;
    data: TrainingData | null;
    export: boolean;
    evaluate: boolean;
    report: boolean;
    split?: 'test' | 'val';
  },
): Promise<RunOutputs> {
  const out: RunOutputs = { exported: null, evaluation: null, galleryItems: 0, report: null };
  const split = args.split ?? 'test';
  if ((args.export || args.evaluate) && args.data !== null) {
    out.calibration = await calibrateRun({
      model: args.model,
      plan: args.plan,
      data: args.data,
      reporter: ctx.reporter,
    });
    if (out.calibration === null)
      ctx.reporter.warn(
        "no validation images: decision settings left at their defaults (F1 at 0.5, the det head's score threshold, no minimum mask area)",
      );
    // calibration.json stays what the exported files record: `eval --data <other>` must not overwrite it.
    if (args.export || (await readRunCalibration(args.runDir)) === undefined)
      await writeRunCalibration(args.runDir, out.calibration);
    // OOD statistics and temperatures (run/fit-probability.ts), recorded by the export
    if (args.export)
      Object.assign(
        out,
        await fitAndWriteProbability(args.runDir, {
          model: args.model,
          plan: args.plan,
          data: args.data,
          reporter: ctx.reporter,
        }),
      );
  }
  // Any set of heads exports (a single-task baseline too): each task writes the outputs its spec declares.
  if (args.export)
    out.exported = await exportRunModel(args.model, args.plan, args.runDir, ctx.reporter, out.calibration, {
      ood: out.ood,
      temperature: out.temperature,
    });
  if (args.evaluate && args.data !== null) {
    const sets = splitSets(args.data, split);
    if (Object.values(sets).every((d) => d === undefined || d.size === 0)) {
      ctx.reporter.warn(`no ${split} images: evaluation skipped`);
    } else {
      out.evaluation = await evaluateRun({
        model: args.model,
        plan: args.plan,
        data: args.data,
        split,
        calibration: out.calibration ?? null,
        reporter: ctx.reporter,
      });
      await writeFileAtomic(
        runFolder(args.runDir).evaluation(split),
        `${JSON.stringify(out.evaluation, nanAsString, 2)}\n`,
      );
      if (split === 'test' && out.temperature) {
        out.temperature.test = await testReliability(
          { model: args.model, plan: args.plan, data: args.data, reporter: ctx.reporter },
          out.temperature,
        );
        await writeRunTemperature(args.runDir, out.temperature);
      }
      if (await exists(runFolder(args.runDir).stage1))
        out.galleryItems = (await writeGallery(args.runDir, sets, ctx.reporter)).items.length;
    }
  }
  if (args.report) out.report = (await writeReport(args.runDir)).path;
  return out;
}

/** JSON.stringify replacer keeping NaN / Infinity visible (`"NaN"`) instead of null. */
export function nanAsString(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/** Fits the OOD statistics and temperatures of a trained model on its splits and writes ood.json / temperature.json. */
async function fitAndWriteProbability(
  runDir: string,
  args: Parameters<typeof fitRunProbability>[0],
): Promise<{ ood: RunOod | null; temperature: RunTemperature | null }> {
  const fitted = await fitRunProbability(args);
  if (fitted.ood !== null) await writeRunOod(runDir, fitted.ood);
  else
    args.reporter.warn(
      'too few training or validation films: no OOD statistics (the model will not refuse non-chest images)',
    );
  if (fitted.ood !== null && !fitted.ood.guaranteed) {
    const n = fitted.ood.thresholdFilms;
    args.reporter.warn(
      `only ${n} validation film(s) for an OOD false-refusal rate of ${fitted.ood.targetFalseRefusal}: the threshold is their largest score (expect up to ${(100 / (n + 1)).toFixed(0)}% false refusals)`,
    );
  }
  if (fitted.temperature !== null) await writeRunTemperature(runDir, fitted.temperature);
  return fitted;
}
