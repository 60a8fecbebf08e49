import { DataError, log, type AnyTaskSpec } from '@multichexnet/core';
import { createMemoryCache, type SampleCache } from '@multichexnet/data';
import type { ThresholdChoice } from '@multichexnet/gating';
import { buildModel, type MultiCheXNet } from '@multichexnet/model';
import type { TrainingData } from '../data/training-data';
import { dataHealth, type DataHealth } from '../data/data-health';
import { parsePlan } from '../plan/builtin-plans';
import type { TrainingPlan, TrainingPlanInput } from '../plan/plan-schema';
import type { RunPosition } from './checkpoint';
import { createConsoleReporter } from './console-reporter';
import type { TrainEventHandler } from './events';
import { finaliseRun } from './finalise';
import { applyInit, loadInitWeights, readInitSource, type InitSource } from './init-from-run';
import { createRunnerContext, openRunFolder, resumeRun } from './open-run';
import { runnerSeconds } from './phase-runner';
import { runPlanPhases } from './plan-phases';
import type { ValidationContext } from './validation';

/** Options of {@link train}. */
export interface TrainOptions {
  /** The run folder (`runs/<name>`): plan.json, checkpoints/, metrics.jsonl, weights/, eval.json. */
  runDir: string;
  /** Train / val / test splits per source (`openTrainingData`). */
  data: TrainingData;
  /**
   * Continue from the last checkpoint of `runDir` (its plan must be the same). A damaged last checkpoint is
   * skipped for the newest intact one, with a warning (see `loadResumeCheckpoint`).
   */
  resume?: boolean;
  /** A model to train; default the plan's model built from its seed. */
  model?: MultiCheXNet;
  /** Task specs besides the built-in ones, for a plan whose model names a user's own task. */
  tasks?: readonly AnyTaskSpec[];
  /** A folder written by `model.save` to start from (e.g. shared pre-training); ignored when resuming. */
  initWeights?: string;
  /** Progress events; default a console reporter, `null` for silence. */
  onEvent?: TrainEventHandler | null;
  /** Stops after the current step (a checkpoint is not written: resume picks up at the last one). */
  signal?: AbortSignal;
  /** Shared cache of decoded samples (default: a new in-memory cache). */
  cache?: SampleCache;
}

/** What {@link train} returns. */
export interface TrainResult {
  status: 'completed' | 'aborted';
  plan: TrainingPlan;
  model: MultiCheXNet;
  runDir: string;
  /** Where the run stands (at the end: phaseIndex = number of phases). */
  position: RunPosition;
  /** The gate threshold chosen on validation data (when the model has a gate and the data allow it). */
  gate: ThresholdChoice | null;
  /** Validation numbers of the final model (gated pipeline), as eval.json stores them ({@link evalSummary}). */
  validation: Record<string, unknown> | null;
  /** Seconds of this call. */
  seconds: number;
  /** Seconds of training over every call that worked on this run (from the checkpoints' clocks). */
  trainingSeconds: number;
  /** The bad-sample policy and the samples skipped so far in this process (also in eval.json). */
  data: DataHealth;
}

/**
 * Runs a training plan: its phases in order (blocks frozen / trainable per phase, batches by recipe, optimizer and
 * schedule, loss weighting, teacher forcing), with validation, best-weights tracking, atomic checkpoints and
 * `metrics.jsonl`; at the end it picks the gate threshold on validation data and saves the weights.
 *
 * Determinism: every random choice is a pure function of (plan seed, phase name, step), and a checkpoint holds the
 * weights (BatchNorm statistics included), the optimizer moments and step counts, the loss-weighting state and
 * the best score so far. A run resumed after a crash therefore ends with exactly the weights of an uninterrupted
 * run. A non-finite loss stops the run before the update with a DataError naming phase, step and loss; a diverged
 * model (a non-finite weight or BatchNorm statistic behind a finite loss) stops it before it is validated or
 * checkpointed, naming the weight. Either way the last checkpoint stays the newest, and good.
 *
 * Composed of the run's jobs, each its own module: open / resume the run folder (`openRunFolder`, `resumeRun`),
 * the plan's phases through the phase runner (`runPlanPhases` -> `runPhase`), validation (`phaseValidator`,
 * `chooseGateThreshold`, `validateFinal`) and finalisation (`finaliseRun`: weights/ and eval.json).
 *
 * @example
 * const data = await openTrainingData({ nih: 'data/nih', rsna: 'data/rsna', siim: 'data/siim' });
 * const { model, validation } = await train(builtinPlan('multichexnet-joint', { size: 'tiny' }), { runDir: 'runs/joint', data });
 */
export async function train(planInput: TrainingPlanInput | TrainingPlan, options: TrainOptions): Promise<TrainResult> {
  const { plan, init } = await resolvePlan(planInput);
  const started = performance.now();
  const emit: TrainEventHandler =
    options.onEvent === null ? () => {} : (options.onEvent ?? createConsoleReporter({ every: plan.logEvery }));
  const opened = await openRunFolder(
    options.runDir,
    { name: plan.name, text: `${JSON.stringify(plan, null, 2)}\n`, file: 'plan' },
    { resume: options.resume === true },
  );
  const model =
    options.model ?? buildModel(plan.model, plan.seed, options.tasks !== undefined ? { tasks: options.tasks } : {});
  const start = await resumeRun(model, opened.checkpoint, plan.phases[0]!.name);
  if (opened.checkpoint === null) {
    if (options.initWeights !== undefined) await model.load(options.initWeights);
    if (init !== null)
      log.info(
        `init from ${plan.init}: ${(await loadInitWeights(model, init)).join(', ')} loaded, the other blocks from the seed`,
      );
  }
  const totalSteps = plan.phases.reduce((s, p) => s + p.steps, 0);
  const ctx = createRunnerContext(opened, start, {
    model,
    totalSteps,
    emit,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    logEvery: plan.logEvery,
    keepCheckpoints: plan.keepCheckpoints,
    started,
  });
  const resumedFrom = opened.checkpoint !== null ? { phase: start.position.phase, step: start.position.step } : null;
  emit({
    type: 'run-start',
    plan: plan.name,
    runDir: options.runDir,
    phases: plan.phases.length,
    totalSteps,
    resumedFrom,
  });
  const gateClasses =
    model.gate?.config.kind === 'cls-path' ? model.gate.config.classes : ['Pneumonia', 'Pneumothorax'];
  const v: ValidationContext = {
    plan,
    data: options.data,
    cache: options.cache ?? createMemoryCache(2 * 1024 ** 3),
    gateClasses,
  };
  const base = { plan, model, runDir: options.runDir };
  if ((await runPlanPhases(ctx, v, start)) === 'aborted') {
    const { seconds, training } = runnerSeconds(ctx);
    return {
      ...base,
      status: 'aborted',
      position: ctx.state.position,
      gate: null,
      validation: null,
      seconds,
      trainingSeconds: training,
      data: dataHealth(options.data),
    };
  }
  return { ...base, status: 'completed', position: ctx.state.position, ...(await finaliseRun(ctx, v)) };
}

/** The plan parsed, with its `init` folder read and applied (the plan a run folder records). */
async function resolvePlan(
  planInput: TrainingPlanInput | TrainingPlan,
): Promise<{ plan: TrainingPlan; init: InitSource | null }> {
  const parsed = parsePlan(planInput);
  if (parsed.phases.length === 0) {
    throw new DataError('The plan has no phases to train (the plan of an imported model)', {
      field: 'phases',
      expected: `a plan with phases; start one from this model with "init": "<its run folder>"`,
      found: 'none',
    });
  }
  const init = parsed.init !== undefined ? await readInitSource(parsed.init) : null;
  return { plan: init !== null ? parsePlan(applyInit(parsed, init)) : parsed, init };
}
