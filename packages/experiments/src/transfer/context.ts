import { CHECKPOINT_FILES, DataError, log, parseConfig, runFolder, type BinaryMask } from '@multichexnet/core';
import { createMemoryCache, type PreprocessConfigInput, type SampleCache } from '@multichexnet/data';
import { synthesize } from '@multichexnet/synth';
import {
  builtinPlan,
  createConsoleReporter,
  openTrainingData,
  parsePlan,
  train,
  type BuiltinPlanName,
  type TrainEvent,
  type TrainingData,
  type TrainingPlan,
} from '@multichexnet/trainer';
import type { MultiCheXNet } from '@multichexnet/model';
import {
  modelFolderOf,
  openTransferData,
  resolveSource,
  type FineTuneEvent,
  type TransferSplits,
} from '@multichexnet/transfer';
import {
  TransferExperimentConfigSchema,
  type TransferExperimentConfig,
  type TransferExperimentConfigInput,
} from './config';

/** Progress of a transfer experiment: its own stages, source training, and fine-tuning runs. */
export type TransferExperimentEvent =
  | {
      type: 'experiment';
      stage: 'data' | 'source' | 'fine-tune' | 'evaluate' | 'tables';
      message: string;
      seconds?: number;
    }
  | (TrainEvent & { variant: string })
  | (FineTuneEvent & { run: string });

/** Runtime options of the transfer experiments (not part of the JSON config). */
export interface TransferExperimentRuntime {
  /** NIH / RSNA / SIIM splits to use instead of synthetic or reused ones. */
  data?: TrainingData;
  /** COVID splits to use instead of a folder. */
  covid?: TransferSplits;
  /** Progress; default a console reporter, null for silence. */
  onEvent?: ((e: TransferExperimentEvent) => void) | null;
}

/** The source models of the tables. */
export type SourceName = 'stage1' | 'mtl' | 'chexnet';

/** A source model and where it came from. */
export interface SourceModel {
  name: SourceName;
  model: MultiCheXNet;
  /** Its weights folder. */
  dir: string;
  /** How it was obtained, in words (for the tables). */
  provenance: string;
  /** Optimizer steps that trained it (null when given from outside without a plan). */
  steps: number | null;
  /** Training seconds recorded by its run (0 when given). */
  seconds: number;
  imageSize: number;
  preprocess: Omit<PreprocessConfigInput, 'size'>;
}

/** Shared state of one transfer experiment folder. */
export interface TransferContext {
  config: TransferExperimentConfig;
  /** NIH / RSNA / SIIM (train / val / test). */
  data: TrainingData;
  /** The COVID splits of the experiment seed. */
  covid: TransferSplits;
  /**
   * The COVID splits of a fine-tuning seed: re-drawn by patient with that seed when `resplit` is on (and the set is
   * a folder), else always {@link TransferContext.covid}.
   */
  covidFor(seed: number): Promise<TransferSplits>;
  /** Where the COVID set lives ('given' for splits passed at runtime). */
  covidRoot: string;
  cache: SampleCache;
  emit: (e: TransferExperimentEvent) => void;
  generationSeconds: number;
  /** Sources loaded so far (disposed by {@link disposeContext}). */
  sources: Map<SourceName, SourceModel>;
}

function defaultEmitter(): (e: TransferExperimentEvent) => void {
  const report = createConsoleReporter();
  return (e) => {
    if (e.type === 'experiment') log.info(e.message);
    else if ('variant' in e) report(e as TrainEvent);
  };
}

async function exists(path: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  return fs.access(path).then(
    () => true,
    () => false,
  );
}

/** Step counts scaled as the trainer's experiments do (at least 1 step; warm-up and eval periods clipped). */
function scaledPlan(name: BuiltinPlanName, cfg: TransferExperimentConfig): TrainingPlan {
  const plan = parsePlan(builtinPlan(name, { size: cfg.size, seed: cfg.seed }));
  for (const p of plan.phases) {
    p.steps = Math.max(1, Math.round(p.steps * cfg.stepScale));
    if (p.evalEvery > p.steps) p.evalEvery = 0;
    if (p.checkpointEvery > p.steps) p.checkpointEvery = 0;
    if (p.schedule.type === 'cosine')
      p.schedule.warmupSteps = Math.min(p.schedule.warmupSteps, Math.floor(p.steps / 10));
  }
  return parsePlan(plan);
}

/**
 * The plan of a source trained here. Stage 1 and MTL split the `multichexnet-joint` plan (same phases, same seed:
 * the same weights as one uninterrupted protocol run, the MTL run continuing from the stage-1 weights);
 * the CheXNet baseline is the `single-cls` plan (NIH only, as many updates as the protocol gives CheXCls).
 */
export function sourcePlan(name: SourceName, cfg: TransferExperimentConfig): TrainingPlan {
  if (name === 'chexnet') {
    const p = scaledPlan('single-cls', cfg);
    return parsePlan({
      ...p,
      name: `chexnet-${cfg.size}`,
      description: 'CheXNet-multilabel baseline: DenseNet encoder + 14 sigmoids, NIH only',
    });
  }
  const joint = scaledPlan('multichexnet-joint', cfg);
  const first = joint.phases[0]!;
  if (name === 'stage1')
    return parsePlan({
      ...joint,
      name: `stage1-${cfg.size}`,
      description: 'Algorithm 1 stage 1: encoder + CheXCls on NIH',
      phases: [first],
    });
  return parsePlan({
    ...joint,
    name: `mtl-${cfg.size}`,
    description: 'Algorithm 1 stages 2-3 and joint MTL, from the stage-1 weights',
    phases: joint.phases.slice(1),
  });
}

/** The split and seed a trainer experiment folder used (from its table1.json / table2.json). */
async function reusedSplit(dir: string): Promise<{ split: unknown; seed: number }> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  for (const name of ['table1.json', 'table2.json', 'seed-tables12.json']) {
    try {
      const t = JSON.parse(await fs.readFile(join(dir, name), 'utf8')) as {
        config?: { split?: unknown; seed?: number };
      };
      if (t.config?.split !== undefined && typeof t.config.seed === 'number')
        return { split: t.config.split, seed: t.config.seed };
    } catch {
      /* next */
    }
  }
  throw new DataError('The reused experiment folder does not record its data split', {
    file: join(dir, 'table1.json'),
    expected: 'table1.json or table2.json of a trainer experiment (Table 1 / the quickstart)',
    found: 'neither',
  });
}

/**
 * Opens (or writes, then opens) the data of a transfer experiment: NIH / RSNA / SIIM (given, reused from a
 * trainer experiment folder, or synthetic in <out>/data) and the COVID-19 collection (given, or synthetic in
 * <out>/data/covid with `synthetic.covidFraction` COVID patients), split by patient.
 */
export async function prepareTransferExperiment(
  input: TransferExperimentConfigInput,
  runtime: TransferExperimentRuntime = {},
): Promise<TransferContext> {
  const config = parseConfig(TransferExperimentConfigSchema, input, 'transfer experiment config');
  const emit = runtime.onEvent === null ? () => {} : (runtime.onEvent ?? defaultEmitter());
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  await fs.mkdir(config.out, { recursive: true });
  const imageSize = parsePlan(builtinPlan('single-cls', { size: config.size })).imageSize;
  const root = join(config.out, 'data');
  let generationSeconds = 0;
  const needNih = runtime.data === undefined && config.reuse === undefined;
  const needCovid = runtime.covid === undefined && config.covid === undefined;
  const synth = config.synthetic;
  const write = async (
    counts: { nih: number; rsna: number; siim: number; covid: number },
    marker: string,
  ): Promise<void> => {
    if (await exists(marker)) return;
    emit({
      type: 'experiment',
      stage: 'data',
      message: `writing synthetic NIH ${counts.nih}, RSNA ${counts.rsna}, SIIM ${counts.siim}, COVID ${counts.covid} images (${imageSize} px) to ${root}`,
    });
    const t0 = performance.now();
    await synthesize({
      out: root,
      counts,
      size: imageSize,
      seed: config.seed,
      annotationSpace: 'original',
      covid: { covidFraction: synth.covidFraction },
    });
    generationSeconds += (performance.now() - t0) / 1000;
  };
  if (needNih)
    await write(
      { nih: synth.nih, rsna: synth.rsna, siim: synth.siim, covid: needCovid ? synth.covid : 0 },
      join(root, 'nih', 'synth.json'),
    );
  if (needCovid) await write({ nih: 0, rsna: 0, siim: 0, covid: synth.covid }, join(root, 'covid', 'metadata.csv'));
  if (generationSeconds > 0)
    emit({
      type: 'experiment',
      stage: 'data',
      message: `synthetic data written in ${generationSeconds.toFixed(1)} s`,
      seconds: generationSeconds,
    });

  let data = runtime.data;
  if (data === undefined) {
    if (config.reuse !== undefined) {
      const r = await reusedSplit(config.reuse);
      data = await openTrainingData(
        {
          nih: join(config.reuse, 'data', 'nih'),
          rsna: join(config.reuse, 'data', 'rsna'),
          siim: join(config.reuse, 'data', 'siim'),
        },
        { ...(r.split as object), seed: r.seed },
      );
    } else {
      data = await openTrainingData(
        { nih: join(root, 'nih'), rsna: join(root, 'rsna'), siim: join(root, 'siim') },
        { ...config.split, seed: config.seed },
      );
    }
  }
  const covidRoot = runtime.covid !== undefined ? 'given' : (config.covid ?? join(root, 'covid'));
  const covid =
    runtime.covid ?? (await openTransferData(covidRoot, { fractions: config.covidSplit, seed: config.seed }));
  const covidFor = async (seed: number): Promise<TransferSplits> =>
    runtime.covid !== undefined || !config.resplit || seed === config.seed
      ? covid
      : openTransferData(covidRoot, { fractions: config.covidSplit, seed });
  return {
    config,
    data,
    covid,
    covidFor,
    covidRoot,
    cache: createMemoryCache(2 * 1024 ** 3),
    emit,
    generationSeconds,
    sources: new Map(),
  };
}

/**
 * A source model: given in `config.sources`, taken from the reused trainer experiment, or trained here (once:
 * `<out>/sources/<name>` is resumed, so a finished run only re-checks).
 */
export async function sourceModel(ctx: TransferContext, name: SourceName): Promise<SourceModel> {
  const have = ctx.sources.get(name);
  if (have !== undefined) return have;
  const { join } = await import('node:path');
  const cfg = ctx.config;
  const given = cfg.sources[name];
  const reused =
    cfg.reuse === undefined || name === 'stage1'
      ? undefined
      : join(cfg.reuse, name === 'mtl' ? 'multichexnet-joint' : 'single-cls');
  let source: SourceModel;
  const from = given ?? (reused !== undefined && (await exists(runFolder(reused).modelSpec)) ? reused : undefined);
  if (from !== undefined) {
    const r = await resolveSource(from);
    const dir = await modelFolderOf(from);
    const plan = await readPlan(runFolder(join(dir, '..')).plan);
    source = {
      name,
      model: r.model,
      dir,
      provenance: given !== undefined ? `given: ${from}` : `reused: ${from}`,
      steps:
        plan === null
          ? null
          : plan.phases.reduce((s, p) => s + p.steps, 0) +
            (name === 'mtl' && plan.phases[0]?.name !== 'pretrain-nih-cls' ? await pretrainSteps(cfg.reuse!) : 0),
      seconds: await trainingSeconds(join(dir, '..')),
      imageSize: r.imageSize ?? 128,
      preprocess: r.preprocess ?? {},
    };
  } else {
    const plan = sourcePlan(name, cfg);
    let init: string | undefined;
    let before = 0;
    if (name === 'mtl') {
      const s1 = await sourceModel(ctx, 'stage1');
      init = s1.dir;
      before = s1.steps ?? 0;
    }
    const runDir = join(cfg.out, 'sources', name);
    const steps = plan.phases.reduce((s, p) => s + p.steps, 0);
    ctx.emit({
      type: 'experiment',
      stage: 'source',
      message: `training source ${name} in ${runDir} (${plan.phases.map((p) => p.name).join(', ')}: ${steps} steps)`,
    });
    const r = await train(plan, {
      runDir,
      data: ctx.data,
      resume: true,
      cache: ctx.cache,
      onEvent: (e) => ctx.emit({ ...e, variant: `source-${name}` }),
      ...(init !== undefined ? { initWeights: init } : {}),
    });
    const stage1Seconds = name === 'mtl' ? (ctx.sources.get('stage1')?.seconds ?? 0) : 0;
    source = {
      name,
      model: r.model,
      dir: join(runDir, 'weights'),
      provenance: `trained here: plan ${plan.name} (${plan.phases.map((p) => p.name).join(', ')})${name === 'mtl' ? ' from the stage-1 weights' : ''}`,
      steps: steps + before,
      seconds: r.trainingSeconds + stage1Seconds,
      imageSize: plan.imageSize,
      preprocess: plan.preprocess,
    };
    ctx.emit({
      type: 'experiment',
      stage: 'source',
      message: `source ${name}: ${r.trainingSeconds.toFixed(1)} s of training (${r.seconds.toFixed(1)} s in this call)`,
      seconds: r.trainingSeconds,
    });
  }
  ctx.sources.set(name, source);
  return source;
}

async function readPlan(path: string): Promise<TrainingPlan | null> {
  const fs = await import('node:fs/promises');
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as TrainingPlan;
  } catch {
    return null;
  }
}

/** Steps of the shared pre-training run a reused MTL variant started from. */
async function pretrainSteps(reuse: string): Promise<number> {
  const { join } = await import('node:path');
  const p = await readPlan(runFolder(join(reuse, 'pretrain')).plan);
  return p === null ? 0 : p.phases.reduce((s, x) => s + x.steps, 0);
}

/** Training seconds a trainer run recorded in its last checkpoint (0 when unknown). */
async function trainingSeconds(runDir: string): Promise<number> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const run = runFolder(runDir);
  try {
    const pointer = JSON.parse(await fs.readFile(run.checkpointPointer, 'utf8')) as { checkpoint: string };
    const state = JSON.parse(
      await fs.readFile(join(run.checkpoint(pointer.checkpoint), CHECKPOINT_FILES.state), 'utf8'),
    ) as { elapsedSeconds?: number };
    return state.elapsedSeconds ?? 0;
  } catch {
    return 0;
  }
}

/** Frees the source models of a context. */
export function disposeContext(ctx: TransferContext): void {
  for (const s of ctx.sources.values()) s.model.dispose();
  ctx.sources.clear();
}

/**
 * Runs one transfer table: opens its context ({@link prepareTransferExperiment}), hands it to `body` with the
 * `performance.now()` of the start, and disposes of its source models however `body` ends.
 */
export async function withTransferContext<T>(
  config: TransferExperimentConfigInput,
  runtime: TransferExperimentRuntime,
  body: (ctx: TransferContext, started: number) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const ctx = await prepareTransferExperiment(config, runtime);
  try {
    return await body(ctx, started);
  } finally {
    disposeContext(ctx);
  }
}

/** Mask pixels set. */
export function maskArea(m: BinaryMask | null | undefined): number {
  if (m == null) return 0;
  let n = 0;
  for (const v of m.data) n += v;
  return n;
}
