import { log, parseConfig, runFolder } from '@multichexnet/core';
import { createMemoryCache, type SampleCache } from '@multichexnet/data';
import { synthesize } from '@multichexnet/synth';
import type { AnyTaskSpec } from '@multichexnet/core';
import { clsTask } from '@multichexnet/head-cls';
import { detTask } from '@multichexnet/head-det';
import { segTask } from '@multichexnet/head-seg';
import { buildModel, GATE_BLOCK, type Gating, type MultiCheXNet } from '@multichexnet/model';
import {
  builtinPlan,
  calibrate,
  checkpointName,
  createConsoleReporter,
  evaluate,
  fitGateThreshold,
  loadCheckpoint,
  openTrainingData,
  parsePlan,
  PLAN_SOURCES,
  restoreBlocks,
  stepsTraining,
  train,
  type BuiltinPlanName,
  type Calibration,
  type EvalResult,
  type EvalSets,
  type EvalSources,
  type PlanSource,
  type TrainEvent,
  type TrainingData,
  type TrainingPlan,
} from '@multichexnet/trainer';
import {
  ExperimentConfigSchema,
  MTL_FROM_PRETRAIN,
  STAGE_VARIANTS,
  type ExperimentConfig,
  type ExperimentConfigInput,
  type Variant,
} from './experiment-config';

/** Progress of an experiment: its own stages, and the training events of each variant. */
export type ExperimentEvent =
  | {
      type: 'experiment';
      stage: 'data' | 'variant-start' | 'variant-end' | 'evaluate' | 'tables' | 'seed';
      variant?: string;
      message: string;
      seconds?: number;
    }
  | (TrainEvent & { variant: string });

/** Runtime options of the experiments (not part of the JSON config). */
export interface ExperimentRuntime {
  /** Datasets to use instead of synthetic ones. */
  data?: TrainingData;
  /** Progress; default a console reporter, null for silence. */
  onEvent?: ((e: ExperimentEvent) => void) | null;
}

/** Shared state of one experiment folder. */
export interface ExperimentContext {
  config: ExperimentConfig;
  data: TrainingData;
  cache: SampleCache;
  imageSize: number;
  emit: (e: ExperimentEvent) => void;
  /** Seconds spent writing synthetic data (0 when reused or given). */
  generationSeconds: number;
  /** Training seconds of each run folder trained or found (the shared pre-training counted once). */
  runSeconds: Map<string, number>;
}

/** A trained variant and its cost. */
export interface TrainedVariant {
  variant: Variant;
  model: MultiCheXNet;
  plan: TrainingPlan;
  /** Optimizer steps of the variant (including the shared pre-training for MultiCheXNet). */
  steps: number;
  /** Every phase that trained it, in order (the shared pre-training included). */
  phases: TrainingPlan['phases'];
  /** Training seconds of the run, over every call that worked on it (resumed runs included). */
  seconds: number;
}

/** Phases of the pre-training run after which each stage variant is read off (its last phase index). */
const STAGE_LAST_PHASE: Partial<Record<Variant, number>> = { 'stage1-cls': 0, 'stage2-det': 2, 'stage3-seg': 4 };

function scaled(plan: ReturnType<typeof builtinPlan>, cfg: ExperimentConfig): TrainingPlan {
  const resolved = parsePlan(plan);
  for (const p of resolved.phases) {
    p.steps = Math.max(1, Math.round(p.steps * cfg.stepScale));
    if (cfg.batchSize !== undefined) p.batchSize = cfg.batchSize;
    if (p.evalEvery > p.steps) p.evalEvery = 0;
    if (p.checkpointEvery > p.steps) p.checkpointEvery = 0;
    if (p.schedule.type === 'cosine')
      p.schedule.warmupSteps = Math.min(p.schedule.warmupSteps, Math.floor(p.steps / 10));
  }
  return parsePlan(resolved);
}

/**
 * The plan of a variant (MultiCheXNet variants without their pre-training phases; a stage variant: the shared
 * pre-training itself) and of the shared pre-training. The pre-training keeps every checkpoint, so the stage
 * baselines can be read off it.
 */
export function variantPlan(variant: Variant | 'pretrain', cfg: ExperimentConfig): TrainingPlan {
  const opts = { size: cfg.size, seed: cfg.seed };
  if (variant === 'pretrain' || STAGE_VARIANTS.includes(variant)) {
    const joint = scaled(builtinPlan('multichexnet-joint', opts), cfg);
    return parsePlan({
      ...joint,
      name: `pretrain-${cfg.size}`,
      description: 'Algorithm 1, stages 1-3 (shared by the joint and alternating variants)',
      keepCheckpoints: 1000,
      phases: joint.phases.filter((p) => p.stage === 'pretrain'),
    });
  }
  if (variant === 'multichexnet-joint-gradnorm' || variant === 'multichexnet-joint-pcgrad') {
    const joint = variantPlan('multichexnet-joint', cfg);
    const weighting = variant === 'multichexnet-joint-gradnorm' ? cfg.ablations.gradnorm : cfg.ablations.pcgrad;
    return parsePlan({
      ...joint,
      name: `${variant}-${cfg.size}`,
      description: `${joint.description}; loss weighting ${weighting.type}`,
      phases: joint.phases.map((p) => ({ ...p, lossWeighting: weighting })),
    });
  }
  const plan = scaled(builtinPlan(variant as BuiltinPlanName, opts), cfg);
  if (MTL_FROM_PRETRAIN.includes(variant)) {
    return parsePlan({ ...plan, phases: plan.phases.filter((p) => p.stage !== 'pretrain') });
  }
  // Budgets follow the scaled protocol (rounding each phase may add a few steps): BigBang all of it, a single-task
  // baseline as many steps as the protocol trains its head.
  const protocol = scaled(builtinPlan('multichexnet-joint', opts), cfg).phases;
  const steps =
    variant === 'bigbang'
      ? protocol.reduce((s, p) => s + p.steps, 0)
      : stepsTraining(protocol, variant.slice('single-'.length) as 'cls' | 'det' | 'seg');
  return parsePlan({ ...plan, phases: plan.phases.map((p) => ({ ...p, steps })) });
}

/**
 * Opens (or writes, then opens) the data of an experiment folder.
 */
export async function prepareExperiment(
  input: ExperimentConfigInput,
  runtime: ExperimentRuntime = {},
): Promise<ExperimentContext> {
  const config = parseConfig(ExperimentConfigSchema, input, 'experiment config');
  const emitter = runtime.onEvent === null ? () => {} : (runtime.onEvent ?? defaultEmitter());
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const imageSize = parsePlan(builtinPlan('single-cls', { size: config.size })).imageSize;
  let generationSeconds = 0;
  let data = runtime.data;
  if (data === undefined) {
    const root = join(config.out, 'data');
    const manifest = join(root, 'synth.json');
    let have = false;
    try {
      await fs.access(manifest);
      have = true;
    } catch {
      /* write it */
    }
    if (!have) {
      emitter({
        type: 'experiment',
        stage: 'data',
        message: `writing synthetic NIH ${config.synthetic.nih}, RSNA ${config.synthetic.rsna}, SIIM ${config.synthetic.siim} images (${imageSize} px) to ${root}`,
      });
      const t0 = performance.now();
      // Written at the network's input size, so loading costs no resize; the loaders read the annotation space
      // from the generator's synth.json.
      await synthesize({ out: root, counts: { ...config.synthetic, covid: 0 }, size: imageSize, seed: config.seed });
      generationSeconds = (performance.now() - t0) / 1000;
      emitter({
        type: 'experiment',
        stage: 'data',
        message: `synthetic data written in ${generationSeconds.toFixed(1)} s`,
        seconds: generationSeconds,
      });
    }
    data = await openTrainingData(
      { nih: join(root, 'nih'), rsna: join(root, 'rsna'), siim: join(root, 'siim') },
      { ...config.split, seed: config.seed },
    );
  }
  return {
    config,
    data,
    cache: createMemoryCache(2 * 1024 ** 3),
    imageSize,
    emit: emitter,
    generationSeconds,
    runSeconds: new Map(),
  };
}

function defaultEmitter(): (e: ExperimentEvent) => void {
  const report = createConsoleReporter();
  return (e) => (e.type === 'experiment' ? log.info(e.message) : report(e));
}

/**
 * Trains (or finds finished on disk) one variant in `<out>/<variant>`. The MTL variants start from the shared
 * pre-training run `<out>/pretrain`, which is trained once; a stage variant is that run's checkpoint at the end of
 * its stage, with the gate's threshold chosen on validation data as training chooses it.
 */
export async function trainVariant(ctx: ExperimentContext, variant: Variant): Promise<TrainedVariant> {
  const { join } = await import('node:path');
  const run = async (
    name: string,
    plan: TrainingPlan,
    initWeights?: string,
  ): Promise<{ model: MultiCheXNet; seconds: number }> => {
    ctx.emit({
      type: 'experiment',
      stage: 'variant-start',
      variant: name,
      message: `training ${name} (${plan.phases.length} phases, ${plan.phases.reduce((s, p) => s + p.steps, 0)} steps)`,
    });
    const r = await train(plan, {
      runDir: join(ctx.config.out, name),
      data: ctx.data,
      resume: true,
      cache: ctx.cache,
      onEvent: (e) => ctx.emit({ ...e, variant: name }),
      ...(initWeights !== undefined ? { initWeights } : {}),
    });
    ctx.runSeconds.set(name, r.trainingSeconds);
    ctx.emit({
      type: 'experiment',
      stage: 'variant-end',
      variant: name,
      message: `${name}: ${r.trainingSeconds.toFixed(1)} s of training (${r.seconds.toFixed(1)} s in this call)`,
      seconds: r.trainingSeconds,
    });
    return { model: r.model, seconds: r.trainingSeconds };
  };
  const plan = variantPlan(variant, ctx.config);
  const steps = plan.phases.reduce((s, p) => s + p.steps, 0);
  const last = STAGE_LAST_PHASE[variant];
  if (last !== undefined) {
    const p = await run('pretrain', plan);
    p.model.dispose();
    const phases = plan.phases.slice(0, last + 1);
    const ckpt = await loadCheckpoint(
      runFolder(join(ctx.config.out, 'pretrain')).checkpoint(
        checkpointName({ phaseIndex: last + 1, phase: '', step: 0, globalStep: 0 }),
      ),
    );
    const model = buildModel(plan.model, plan.seed);
    await restoreBlocks(model, ckpt);
    await fitGateThreshold(model, ctx.data, {
      imageSize: plan.imageSize,
      preprocess: plan.preprocess,
      targetSensitivity: plan.gateSensitivity,
      cache: ctx.cache,
    });
    // Training time up to the end of the stage, as the checkpoint recorded it.
    return {
      variant,
      model,
      plan,
      steps: phases.reduce((s, x) => s + x.steps, 0),
      phases,
      seconds: ckpt.state.elapsedSeconds,
    };
  }
  if (MTL_FROM_PRETRAIN.includes(variant)) {
    const pre = variantPlan('pretrain', ctx.config);
    const p = await run('pretrain', pre);
    p.model.dispose();
    const m = await run(variant, plan, join(ctx.config.out, 'pretrain', 'weights'));
    return {
      variant,
      model: m.model,
      plan,
      steps: steps + pre.phases.reduce((s, x) => s + x.steps, 0),
      phases: [...pre.phases, ...plan.phases],
      seconds: m.seconds + p.seconds,
    };
  }
  const m = await run(variant, plan);
  return { variant, model: m.model, plan, steps, phases: plan.phases, seconds: m.seconds };
}

/** Test sets of an experiment. */
export function testSets(data: TrainingData): EvalSets {
  const out: EvalSets = {};
  for (const s of PLAN_SOURCES) if (data[s] !== undefined) out[s] = data[s]!.test;
  return out;
}

/** The task each stage baseline is read off for: the head its stage of Algorithm 1 trained. */
const STAGE_TASK: Partial<Record<Variant, AnyTaskSpec>> = {
  'stage1-cls': clsTask,
  'stage2-det': detTask,
  'stage3-seg': segTask,
};

/**
 * The sources a variant is scored on: a stage baseline only on the head its stage trained (on that task's default
 * source; the gate with it when the task is routed), every other variant by the evaluation's defaults.
 */
export function variantSources(variant: Variant, model: MultiCheXNet): EvalSources | undefined {
  const stage = STAGE_TASK[variant];
  if (stage === undefined) return undefined;
  const gate = stage.routed
    ? model.taskSpecs.filter((s) => s.routed).map((s) => s.defaultSource.name as PlanSource)
    : [];
  return {
    ...Object.fromEntries(
      model.taskSpecs.map((s) => [s.name, s.name === stage.name ? [stage.defaultSource.name as PlanSource] : []]),
    ),
    [GATE_BLOCK]: gate,
  };
}

/** Evaluates a trained variant on the test sets with one gating mode. */
export async function evaluateVariant(
  ctx: ExperimentContext,
  v: TrainedVariant,
  gating: Gating,
): Promise<EvalResult & { calibration: Calibration }> {
  const sources = variantSources(v.variant, v.model);
  const common = {
    imageSize: v.plan.imageSize,
    preprocess: v.plan.preprocess,
    cache: ctx.cache,
    gating,
    ...(sources !== undefined ? { sources } : {}),
  };
  // Decision settings (F1 thresholds, box score threshold, minimum mask area) chosen on validation data under the
  // same gating, then applied unchanged to the test set.
  const calibration = calibrate((await evaluate(v.model, valSets(ctx.data), common)).raw, v.model);
  return { ...(await evaluate(v.model, testSets(ctx.data), { ...common, settings: calibration })), calibration };
}

/** Validation sets of an experiment. */
export function valSets(data: TrainingData): EvalSets {
  const out: EvalSets = {};
  for (const s of PLAN_SOURCES) if (data[s] !== undefined) out[s] = data[s]!.val;
  return out;
}
