import {
  DataError,
  OodStatisticsSchema,
  RUN_FILES,
  runFolder,
  writeFileAtomic,
  type OodStatistics,
} from '@multichexnet/core';
import type { OodExport } from '@multichexnet/export';
import type { MultiCheXNet } from '@multichexnet/model';
import { TemperatureSpecSchema, type TemperatureSpecInput } from '@multichexnet/runtime';
import {
  DEFAULT_OOD_LEVELS,
  collectOutputs,
  enoughForRate,
  outOfFoldScores,
  fitHeadTemperatures,
  fitOodStatistics,
  headReliability,
  oodScore,
  oodThreshold,
  type CollectedOutputs,
  type EvalSets,
  type HeadReliability,
  type HeadTemperatures,
  type ClassTemperatureFits,
  type TaskTemperatures,
  type TemperatureFit,
  type TrainingData,
  type TrainingPlan,
} from '@multichexnet/trainer';
import type { Reporter } from '../io/progress';
import { splitSets } from './evaluate-run';
import { readOptionalJson } from '../io/read-json';

/*
 * The run folder's out-of-distribution statistics (ood.json) and probability temperatures (temperature.json):
 * fitted after training on the run's own splits (OOD Gaussian on the training films, its threshold and the
 * temperatures on the validation films), recorded by the export in the ONNX metadata, and their test-split
 * reliability shown by the report.
 */

/** File names in the run folder. */

/** Default false-refusal rate on in-distribution films that the OOD threshold is chosen for. */
export const DEFAULT_OOD_TARGET = 0.02;

/** Training films the OOD statistics are fitted on, at most (evenly spaced through each source's train split). */
const MAX_FIT_FILMS = 1500;

/** `ood.json`. */
export interface RunOod {
  format: 'multichexnet-ood';
  statistics: OodStatistics;
  threshold: number;
  targetFalseRefusal: number;
  thresholdFilms: number;
  /** Whether the validation set was large enough for the split-conformal guarantee at the target rate. */
  guaranteed: boolean;
  /** Where the statistics and the threshold came from: the run's `train` / `val` splits, or `films` (import). */
  fittedOn: string;
  thresholdOn: string;
  /** Validation score summary, for the report. */
  validation: { min: number; median: number; max: number };
}

/** `temperature.json`. */
export interface RunTemperature {
  format: 'multichexnet-temperature';
  /** What the export records (`metadata.temperature`). */
  spec: TemperatureSpecInput;
  /** The fits (NLL before / after, samples) on the validation split. */
  fits: HeadTemperatures;
  /** Reliability before / after on the validation split (what was fitted) and on the test split (held out). */
  val: HeadReliability;
  test?: HeadReliability;
}

/** A run file written with NaN as `"NaN"`, read back with NaN (undefined when absent). */
async function readRunJson<T>(file: string): Promise<T | undefined> {
  return (await readOptionalJson(file, { reviver: (_k, v) => (v === 'NaN' ? Number.NaN : v) })) as T | undefined;
}

const nanAsString = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);

/** A run's ood.json, checked (undefined when absent). */
export async function readRunOod(runDir: string): Promise<RunOod | undefined> {
  const file = runFolder(runDir).ood;
  const r = await readRunJson<RunOod>(file);
  if (r === undefined) return undefined;
  const parsed = OodStatisticsSchema.safeParse(r.statistics);
  if (r.format !== 'multichexnet-ood' || !parsed.success || !(r.threshold > 0)) {
    const issue = parsed.success ? null : parsed.error.issues[0]!;
    throw new DataError(`${RUN_FILES.ood} does not validate`, {
      file,
      field: issue ? `statistics.${issue.path.join('.')}` : r.format !== 'multichexnet-ood' ? 'format' : 'threshold',
      expected: issue?.message ?? (r.format !== 'multichexnet-ood' ? 'multichexnet-ood' : 'a positive threshold'),
      found: issue ? 'another value' : String(r.format !== 'multichexnet-ood' ? r.format : r.threshold),
    });
  }
  return r;
}

/** A run's temperature.json, checked (undefined when absent). */
export async function readRunTemperature(runDir: string): Promise<RunTemperature | undefined> {
  const file = runFolder(runDir).temperature;
  const r = await readRunJson<RunTemperature>(file);
  if (r === undefined) return undefined;
  const parsed = TemperatureSpecSchema.safeParse(r.spec);
  if (r.format !== 'multichexnet-temperature' || !parsed.success) {
    const issue = parsed.success ? null : parsed.error.issues[0]!;
    throw new DataError(`${RUN_FILES.temperature} does not validate`, {
      file,
      field: issue ? `spec.${issue.path.join('.')}` : 'format',
      expected: issue?.message ?? 'multichexnet-temperature',
      found: issue ? 'another value' : String(r.format),
    });
  }
  return r;
}

export async function writeRunOod(runDir: string, ood: RunOod): Promise<void> {
  await writeFileAtomic(runFolder(runDir).ood, `${JSON.stringify(ood)}\n`);
}

export async function writeRunTemperature(runDir: string, t: RunTemperature): Promise<void> {
  await writeFileAtomic(runFolder(runDir).temperature, `${JSON.stringify(t, nanAsString, 2)}\n`);
}

/** The export option `ood` of a run's ood.json. */
export function oodExportOf(r: RunOod): OodExport {
  return {
    statistics: r.statistics,
    threshold: r.threshold,
    targetFalseRefusal: r.targetFalseRefusal,
    thresholdFilms: r.thresholdFilms,
  };
}

function sized(sets: EvalSets): number {
  return Object.values(sets).reduce((a, d) => a + (d?.size ?? 0), 0);
}

function trainSets(data: TrainingData): EvalSets {
  const out: EvalSets = {};
  for (const s of ['nih', 'rsna', 'siim'] as const) if (data[s] !== undefined) out[s] = data[s]!.train;
  return out;
}

async function collect(
  model: MultiCheXNet,
  plan: TrainingPlan,
  sets: EvalSets,
  label: string,
  reporter: Reporter,
  opts: { heads: boolean; features: boolean; maxImages?: number },
): Promise<CollectedOutputs> {
  const per = Object.values(sets).map((d) => Math.min(d?.size ?? 0, opts.maxImages ?? Infinity));
  const task = reporter.task(
    label,
    per.reduce((a, b) => a + b, 0),
    'images',
  );
  let done = 0;
  const out = await collectOutputs(model, sets, {
    imageSize: plan.imageSize,
    ...(plan.preprocess !== undefined ? { preprocess: plan.preprocess } : {}),
    heads: opts.heads,
    ...(opts.features ? { features: DEFAULT_OOD_LEVELS } : {}),
    ...(opts.maxImages !== undefined ? { maxImages: opts.maxImages } : {}),
    onImage: () => task.update(++done),
  });
  task.finish();
  return out;
}

/**
 * The OOD statistics of pooled feature rows and their threshold on the threshold rows. When those are too few for
 * the target rate, the out-of-fold scores of the fitting rows (5 folds) join them, and `thresholdOn` says so.
 */
export function oodOfRows(
  fit: Float32Array[],
  threshold: Float32Array[],
  target: number,
  provenance: { fittedOn: string; thresholdOn: string },
): RunOod {
  const statistics = fitOodStatistics(fit, DEFAULT_OOD_LEVELS);
  let scores = threshold.map((r) => oodScore(r, statistics));
  if (!enoughForRate(scores.length, target)) {
    scores = [...scores, ...outOfFoldScores(fit, DEFAULT_OOD_LEVELS, 5, { components: statistics.components.length })];
    provenance = { ...provenance, thresholdOn: `${provenance.thresholdOn} + out-of-fold ${provenance.fittedOn}` };
  }
  const t = oodThreshold(scores, target);
  const sorted = [...scores].sort((a, b) => a - b);
  return {
    format: 'multichexnet-ood',
    statistics,
    threshold: t.threshold,
    targetFalseRefusal: target,
    thresholdFilms: scores.length,
    guaranteed: t.guaranteed,
    ...provenance,
    validation: { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! },
  };
}

/**
 * After training: the OOD statistics on the training films and their threshold on the validation films, and the
 * temperatures on the validation split (one pass over each). Null parts when a split has no images.
 *
 * @example
 * const { ood, temperature } = await fitRunProbability({ model, plan, data, reporter });
 */
export async function fitRunProbability(args: {
  model: MultiCheXNet;
  plan: TrainingPlan;
  data: TrainingData;
  reporter: Reporter;
  target?: number;
}): Promise<{ ood: RunOod | null; temperature: RunTemperature | null }> {
  const val = splitSets(args.data, 'val');
  const train = trainSets(args.data);
  if (sized(val) === 0) return { ood: null, temperature: null };
  const v = await collect(args.model, args.plan, val, 'fit temperatures + OOD threshold (val)', args.reporter, {
    heads: true,
    features: true,
  });
  let ood: RunOod | null = null;
  if (sized(train) >= 3) {
    const t = await collect(args.model, args.plan, train, 'fit OOD statistics (train)', args.reporter, {
      heads: false,
      features: true,
      maxImages: MAX_FIT_FILMS,
    });
    ood = oodOfRows(t.features, v.features, args.target ?? DEFAULT_OOD_TARGET, {
      fittedOn: 'train',
      thresholdOn: 'val',
    });
  }
  const fits = fitHeadTemperatures(v);
  const spec = temperatureSpecOf(args.model, fits);
  return {
    ood,
    temperature: { format: 'multichexnet-temperature', spec, fits, val: headReliability(v, temperaturesOf(spec)) },
  };
}

/**
 * The export's `temperature` option of the fitted temperatures: by task, one per class or one for the task as the
 * task's decoder calibrates it (the task table's `calibration.per`, not the task's name).
 */
export function temperatureSpecOf(model: MultiCheXNet, fits: HeadTemperatures): TemperatureSpecInput {
  const tasks: TemperatureSpecInput['tasks'] = {};
  for (const spec of model.taskSpecs) {
    const calibration = spec.decoder.calibration;
    const fit = fits[spec.name];
    if (calibration === undefined || fit === undefined) continue;
    if (calibration.per === 'class') {
      const byClass = fit as ClassTemperatureFits;
      const classFits = Object.values(byClass);
      if (classFits.length === 0) continue;
      // labelled (image, class) pairs: a pooled fit counts them all, else the classes' own fits do together
      const pooled = classFits.find((f) => f.pooled === true);
      const samples = pooled !== undefined ? pooled.count : classFits.reduce((a, f) => a + f.count, 0);
      tasks[spec.name] = {
        temperature: Object.fromEntries(Object.entries(byClass).map(([c, f]) => [c, f.temperature])),
        samples,
      };
    } else {
      const f = fit as TemperatureFit;
      tasks[spec.name] = { temperature: f.temperature, samples: f.count };
    }
  }
  return { split: 'val', tasks };
}

/** The temperatures of a recorded spec as the trainer's headReliability takes them: by task, as recorded. */
function temperaturesOf(spec: TemperatureSpecInput): TaskTemperatures {
  return Object.fromEntries(Object.entries(spec.tasks).map(([task, t]) => [task, t.temperature]));
}

/**
 * The reliability of a run's temperatures on its test split (before / after), added to temperature.json.
 *
 * @example
 * t.test = await testReliability({ model, plan, data, reporter }, t);
 */
export async function testReliability(
  args: { model: MultiCheXNet; plan: TrainingPlan; data: TrainingData; reporter: Reporter },
  t: RunTemperature,
): Promise<HeadReliability | undefined> {
  const test = splitSets(args.data, 'test');
  if (sized(test) === 0) return undefined;
  const o = await collect(args.model, args.plan, test, 'calibration error (test)', args.reporter, {
    heads: true,
    features: false,
  });
  return headReliability(o, temperaturesOf(t.spec));
}
