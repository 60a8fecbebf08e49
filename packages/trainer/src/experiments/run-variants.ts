import { log, parseConfig, writeFileAtomic } from '@multichexnet/core';
import { createMemoryCache, type SampleCache } from '@multichexnet/data';
import { synthesize } from '@multichexnet/synth';
import { openTrainingData, type TrainingData } from '../data/training-data';
import { evaluate, type EvalResult, type EvalSets } from '../eval/evaluate';
import { calibrate, type Calibration } from '../eval/calibrate';
import type { Gating, MultiCheXNet } from '@multichexnet/model';
import { builtinPlan, parsePlan, stepsTraining, type BuiltinPlanName } from '../plan/builtin-plans';
import { PLAN_SOURCES, type TrainingPlan } from '../plan/plan-schema';
import { createConsoleReporter } from '../train/console-reporter';
import type { TrainEvent } from '../train/events';
import { train } from '../train/train';
import { ExperimentConfigSchema, type ExperimentConfig, type ExperimentConfigInput, type Variant } from './experiment-config';

/** Progress of an experiment: its own stages, and the training events of each variant. */
export type ExperimentEvent =
  | { type: 'experiment'; stage: 'data' | 'variant-start' | 'variant-end' | 'evaluate' | 'tables'; variant?: string; message: string; seconds?: number }
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
  /** Training seconds of the run, over every call that worked on it (resumed runs included). */
  seconds: number;
}

function scaled(plan: ReturnType<typeof builtinPlan>, cfg: ExperimentConfig): TrainingPlan {
  const resolved = parsePlan(plan);
  for (const p of resolved.phases) {
    p.steps = Math.max(1, Math.round(p.steps * cfg.stepScale));
    if (cfg.batchSize !== undefined) p.batchSize = cfg.batchSize;
    if (p.evalEvery > p.steps) p.evalEvery = 0;
    if (p.checkpointEvery > p.steps) p.checkpointEvery = 0;
    if (p.schedule.type === 'cosine') p.schedule.warmupSteps = Math.min(p.schedule.warmupSteps, Math.floor(p.steps / 10));
  }
  return parsePlan(resolved);
}

/** The plan of a variant (MultiCheXNet variants without their pre-training phases) and of the shared pre-training. */
export function variantPlan(variant: Variant | 'pretrain', cfg: ExperimentConfig): TrainingPlan {
  const opts = { size: cfg.size, seed: cfg.seed };
  if (variant === 'pretrain') {
    const joint = scaled(builtinPlan('multichexnet-joint', opts), cfg);
    return parsePlan({ ...joint, name: `pretrain-${cfg.size}`, description: 'Algorithm 1, stages 1-3 (shared by the joint and alternating variants)', phases: joint.phases.filter((p) => p.stage === 'pretrain') });
  }
  const plan = scaled(builtinPlan(variant as BuiltinPlanName, opts), cfg);
  if (variant === 'multichexnet-joint' || variant === 'multichexnet-alternating') {
    return parsePlan({ ...plan, phases: plan.phases.filter((p) => p.stage !== 'pretrain') });
  }
  // Budgets follow the scaled protocol (rounding each phase may add a few steps): BigBang all of it, a single-task
  // baseline as many steps as the protocol trains its head.
  const protocol = scaled(builtinPlan('multichexnet-joint', opts), cfg).phases;
  const steps = variant === 'bigbang' ? protocol.reduce((s, p) => s + p.steps, 0) : stepsTraining(protocol, variant.slice('single-'.length) as 'cls' | 'det' | 'seg');
  return parsePlan({ ...plan, phases: plan.phases.map((p) => ({ ...p, steps })) });
}

/**
 * Opens (or writes, then opens) the data of an experiment folder.
 */
export async function prepareExperiment(input: ExperimentConfigInput, runtime: ExperimentRuntime = {}): Promise<ExperimentContext> {
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
      emitter({ type: 'experiment', stage: 'data', message: `writing synthetic NIH ${config.synthetic.nih}, RSNA ${config.synthetic.rsna}, SIIM ${config.synthetic.siim} images (${imageSize} px) to ${root}` });
      const t0 = performance.now();
      // Written at the network's input size, so loading costs no resize; the loaders read the annotation space
      // from the generator's synth.json.
      await synthesize({ out: root, counts: { ...config.synthetic, covid: 0 }, size: imageSize, seed: config.seed });
      generationSeconds = (performance.now() - t0) / 1000;
      emitter({ type: 'experiment', stage: 'data', message: `synthetic data written in ${generationSeconds.toFixed(1)} s`, seconds: generationSeconds });
    }
    data = await openTrainingData({ nih: join(root, 'nih'), rsna: join(root, 'rsna'), siim: join(root, 'siim') }, { ...config.split, seed: config.seed });
  }
  return { config, data, cache: createMemoryCache(2 * 1024 ** 3), imageSize, emit: emitter, generationSeconds, runSeconds: new Map() };
}

function defaultEmitter(): (e: ExperimentEvent) => void {
  const report = createConsoleReporter();
  return (e) => (e.type === 'experiment' ? log.info(e.message) : report(e));
}

/**
 * Trains (or finds finished on disk) one variant in `<out>/<variant>`. The joint and alternating variants start
 * from the shared pre-training run `<out>/pretrain`, which is trained once.
 */
export async function trainVariant(ctx: ExperimentContext, variant: Variant): Promise<TrainedVariant> {
  const { join } = await import('node:path');
  const run = async (name: string, plan: TrainingPlan, initWeights?: string): Promise<{ model: MultiCheXNet; seconds: number }> => {
    ctx.emit({ type: 'experiment', stage: 'variant-start', variant: name, message: `training ${name} (${plan.phases.length} phases, ${plan.phases.reduce((s, p) => s + p.steps, 0)} steps)` });
    const r = await train(plan, {
      runDir: join(ctx.config.out, name),
      data: ctx.data,
      resume: true,
      cache: ctx.cache,
      onEvent: (e) => ctx.emit({ ...e, variant: name }),
      ...(initWeights !== undefined ? { initWeights } : {}),
    });
    ctx.runSeconds.set(name, r.trainingSeconds);
    ctx.emit({ type: 'experiment', stage: 'variant-end', variant: name, message: `${name}: ${r.trainingSeconds.toFixed(1)} s of training (${r.seconds.toFixed(1)} s in this call)`, seconds: r.trainingSeconds });
    return { model: r.model, seconds: r.trainingSeconds };
  };
  const plan = variantPlan(variant, ctx.config);
  const steps = plan.phases.reduce((s, p) => s + p.steps, 0);
  if (variant === 'multichexnet-joint' || variant === 'multichexnet-alternating') {
    const pre = variantPlan('pretrain', ctx.config);
    const p = await run('pretrain', pre);
    p.model.dispose();
    const m = await run(variant, plan, join(ctx.config.out, 'pretrain', 'weights'));
    return { variant, model: m.model, plan, steps: steps + pre.phases.reduce((s, x) => s + x.steps, 0), seconds: m.seconds + p.seconds };
  }
  const m = await run(variant, plan);
  return { variant, model: m.model, plan, steps, seconds: m.seconds };
}

/** Test sets of an experiment. */
export function testSets(data: TrainingData): EvalSets {
  const out: EvalSets = {};
  for (const s of PLAN_SOURCES) if (data[s] !== undefined) out[s] = data[s]!.test;
  return out;
}

/** Evaluates a trained variant on the test sets with one gating mode. */
export async function evaluateVariant(ctx: ExperimentContext, v: TrainedVariant, gating: Gating): Promise<EvalResult & { calibration: Calibration }> {
  const common = { imageSize: v.plan.imageSize, preprocess: v.plan.preprocess, cache: ctx.cache, gating };
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

/** Writes `<out>/<name>.json` and `<out>/<name>.md`. */
export async function writeTable(out: string, name: string, json: unknown, markdown: string): Promise<{ json: string; markdown: string }> {
  const { join } = await import('node:path');
  const j = join(out, `${name}.json`);
  const m = join(out, `${name}.md`);
  await writeFileAtomic(j, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`);
  await writeFileAtomic(m, markdown);
  return { json: j, markdown: m };
}
