import { DataError, deriveSeed, log, writeFileAtomic, type AnyTaskSpec } from '@multichexnet/core';
import { createMemoryCache, type SampleCache } from '@multichexnet/data';
import { createTeacherForcing, type ThresholdChoice } from '@multichexnet/gating';
import { createBatchCursor, recipeBatchIndex, type BatchCursor } from '../data/batch-cursor';
import { requireSource, type TrainingData } from '../data/training-data';
import { dataHealth, type DataHealth } from '../data/data-health';
import { calibrate } from '../eval/calibrate';
import { buildModel, GATE_BLOCK, type MultiCheXNet } from '@multichexnet/model';
import { evalSummary, evaluate, summarise, type EvalResult, type EvalSets, type EvalSources } from '../eval/evaluate';
import { fitGateThreshold } from '../eval/gate-threshold';
import { sha256Hex } from '../io/tensor-bundle';
import { createLossWeighting, type LossTask, type LossWeighting } from '../losses/loss-weighting';
import { learningRateAt } from '../optim/lr-schedule';
import { createOptimizer, type OptimizerState } from '../optim/optimizer';
import { parsePlan } from '../plan/builtin-plans';
import { PLAN_SOURCES, type Phase, type PlanSource, type TrainingPlan, type TrainingPlanInput } from '../plan/plan-schema';
import { checkpointName, loadCheckpoint, loadResumeCheckpoint, pruneCheckpoints, restoreBlocks, saveCheckpoint, type BestState, type CheckpointState, type RunPosition } from './checkpoint';
import { createConsoleReporter } from './console-reporter';
import { firstNonFiniteWeight } from './finite-weights';
import type { TrainEvent, TrainEventHandler } from './events';
import { openMetricsLog } from './metrics-log';
import { trainStep } from './train-step';
import { applyInit, loadInitWeights, readInitSource } from './init-from-run';

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

/** The metric a loss ranks by: its task spec's primary metric, the gate's AUROC. */
function primaryOf(model: MultiCheXNet, task: LossTask): { name: string; value: (r: EvalResult) => number | undefined } {
  if (task === GATE_BLOCK) return { name: 'auroc', value: (r) => r.gate?.auroc };
  const name = model.taskSpec(task).evaluation.primary;
  return { name, value: (r) => (r.metrics[task] as Record<string, number> | undefined)?.[name] };
}

function phaseTasks(phase: Phase): LossTask[] {
  return [...new Set(phase.batches.flatMap((b) => b.tasks))];
}

function evalSourcesOf(phase: Phase, model: MultiCheXNet): EvalSources {
  const of = (task: LossTask): PlanSource[] => [...new Set(phase.batches.filter((b) => b.tasks.includes(task)).flatMap((b) => b.datasets))];
  return Object.fromEntries([...model.tasks, GATE_BLOCK].map((t) => [t, of(t)]));
}

function valSets(data: TrainingData, sources: EvalSources): EvalSets {
  const out: EvalSets = {};
  for (const s of new Set(Object.values(sources).flat() as PlanSource[])) if (data[s] !== undefined) out[s] = data[s]!.val;
  return out;
}

/** The numbers a validation writes to metrics.jsonl: each task's logged metrics as `<task>.<metric>`, the gate's. */
function metricsOf(r: EvalResult, model: MultiCheXNet): Record<string, number> {
  const m: Record<string, number> = {};
  for (const spec of model.taskSpecs) {
    const values = r.metrics[spec.name] as Record<string, number> | undefined;
    if (values !== undefined) for (const k of spec.evaluation.logged) m[`${spec.name}.${k}`] = values[k]!;
  }
  if (r.gate) Object.assign(m, { 'gate.sensitivity': r.gate.sensitivity, 'gate.specificity': r.gate.specificity, 'gate.auroc': r.gate.auroc });
  return m;
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
 * @example
 * const data = await openTrainingData({ nih: 'data/nih', rsna: 'data/rsna', siim: 'data/siim' });
 * const { model, validation } = await train(builtinPlan('multichexnet-joint', { size: 'tiny' }), { runDir: 'runs/joint', data });
 */
export async function train(planInput: TrainingPlanInput | TrainingPlan, options: TrainOptions): Promise<TrainResult> {
  const parsed = parsePlan(planInput);
  if (parsed.phases.length === 0) {
    throw new DataError('The plan has no phases to train (the plan of an imported model)', { field: 'phases', expected: `a plan with phases; start one from this model with "init": "<its run folder>"`, found: 'none' });
  }
  const init = parsed.init !== undefined ? await readInitSource(parsed.init) : null;
  const plan = init !== null ? parsePlan(applyInit(parsed, init)) : parsed;
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const started = performance.now();
  const emit: TrainEventHandler = options.onEvent === null ? () => {} : (options.onEvent ?? createConsoleReporter({ every: plan.logEvery }));
  const runDir = options.runDir;
  const ckptDir = join(runDir, 'checkpoints');
  const planText = `${JSON.stringify(plan, null, 2)}\n`;
  const planSha = await sha256Hex(new TextEncoder().encode(planText));
  await fs.mkdir(runDir, { recursive: true });
  const planFile = join(runDir, 'plan.json');
  let existing: string | null = null;
  try {
    existing = await fs.readFile(planFile, 'utf8');
  } catch {
    /* a new run */
  }
  if (existing !== null && existing !== planText) {
    throw new DataError('The run folder holds another plan', { file: planFile, expected: `plan ${plan.name} (sha256 ${planSha.slice(0, 12)})`, found: 'a different plan.json; use a new run folder' });
  }
  const latest = options.resume === true ? await loadResumeCheckpoint(ckptDir, (m) => log.warn(m)) : null;
  if (options.resume !== true && existing !== null) {
    try {
      await fs.access(join(ckptDir, 'latest.json'));
      throw new DataError('The run folder already holds checkpoints', { file: join(ckptDir, 'latest.json'), expected: 'resume: true, or a new run folder', found: 'an existing run' });
    } catch (e) {
      if (e instanceof DataError) throw e;
    }
  }
  await writeFileAtomic(planFile, planText);
  const metrics = await openMetricsLog(join(runDir, 'metrics.jsonl'));
  const model = options.model ?? buildModel(plan.model, plan.seed, options.tasks !== undefined ? { tasks: options.tasks } : {});
  const cache = options.cache ?? createMemoryCache(2 * 1024 ** 3);
  const preprocess = { ...plan.preprocess, size: plan.imageSize };
  const totalSteps = plan.phases.reduce((s, p) => s + p.steps, 0);

  let position: RunPosition = { phaseIndex: 0, phase: plan.phases[0]!.name, step: 0, globalStep: 0 };
  let best: BestState | null = null;
  let elapsedBefore = 0;
  let restoredOptimizer: OptimizerState | null = null;
  let restoredWeighting: CheckpointState['weighting'] = null;
  let lastCheckpoint: string | null = null;
  if (latest !== null) {
    if (latest.manifest.plan.sha256 !== planSha) {
      throw new DataError('The checkpoint belongs to another plan', { file: latest.path, field: 'plan.sha256', expected: planSha, found: latest.manifest.plan.sha256 });
    }
    await restoreBlocks(model, latest);
    position = latest.manifest.position;
    best = latest.state.best;
    elapsedBefore = latest.state.elapsedSeconds;
    restoredOptimizer = latest.optimizer;
    restoredWeighting = latest.state.weighting;
    if (latest.state.gateThreshold !== null && model.gate !== null) model.gate.setThreshold(latest.state.gateThreshold);
    lastCheckpoint = latest.path;
    await metrics.truncateAfter(position.globalStep);
  } else {
    // A run that crashed before its first checkpoint starts over: its log starts over too.
    await metrics.truncateAfter(0);
    if (options.initWeights !== undefined) await model.load(options.initWeights);
    if (init !== null) log.info(`init from ${parsed.init}: ${(await loadInitWeights(model, init)).join(', ')} loaded, the other blocks from the seed`);
  }
  emit({ type: 'run-start', plan: plan.name, runDir, phases: plan.phases.length, totalSteps, resumedFrom: latest ? { phase: position.phase, step: position.step } : null });

  const gateClasses = model.gate?.config.kind === 'cls-path' ? model.gate.config.classes : ['Pneumonia', 'Pneumothorax'];
  let secondsPerStep = 0.15;
  const stateOf = (weighting: LossWeighting | null, opt: OptimizerState | null): CheckpointState => ({
    weighting: weighting?.getState() ?? null,
    optimizer: opt === null ? null : { type: opt.type, steps: opt.steps },
    best,
    gateThreshold: model.gate?.threshold ?? null,
    elapsedSeconds: elapsedBefore + (performance.now() - started) / 1000,
  });

  for (let p = position.phaseIndex; p < plan.phases.length; p++) {
    const phase = plan.phases[p]!;
    const startStep = p === position.phaseIndex ? position.step : 0;
    const phaseStarted = performance.now();
    const flags = Object.fromEntries(model.blocks().map(([b]) => [b, phase.trainable.includes(b)]));
    model.setTrainable(flags);
    const tasks = phaseTasks(phase);
    const weighting = createLossWeighting(phase.lossWeighting, tasks, { seed: deriveSeed(plan.seed, `weighting/${phase.name}`) });
    const optimizer = createOptimizer(phase.optimizer);
    const variables = [...model.trainableVariables(), ...weighting.variables];
    if (startStep > 0) {
      if (restoredOptimizer !== null) optimizer.setState(restoredOptimizer);
      if (restoredWeighting !== null) weighting.setState(restoredWeighting);
      optimizer.checkAgainst(variables);
    }
    // Draws depend on (seed, phase name, step) only: see TeacherForcing.decide.
    const teacherForcing = phase.routing.type === 'teacher-forcing' ? createTeacherForcing({ p: phase.routing.p, seed: deriveSeed(plan.seed, 'teacher-forcing') }) : null;
    if (startStep === 0) best = null;
    emit({ type: 'phase-start', phase: phase.name, phaseIndex: p, phases: plan.phases.length, steps: phase.steps, startStep, trainable: phase.trainable, description: phase.description });
    const sources = evalSourcesOf(phase, model);
    const val = valSets(options.data, sources);
    const validate = async (step: number): Promise<void> => {
      if (Object.keys(val).length === 0) return;
      const raw = await evaluate(model, val, { imageSize: plan.imageSize, preprocess: plan.preprocess, gating: phase.routing.type === 'teacher-forcing' ? 'truth' : 'none', sources, cache, gateClasses });
      // Scored with its decision settings tuned on the same split: what the head can do, not where 0.25 falls.
      const r: EvalResult = { ...raw, ...summarise(raw.raw, model, calibrate(raw.raw, model)) };
      const m = metricsOf(r, model);
      const primaries = tasks.map((t) => ({ task: t, ...primaryOf(model, t) }));
      const parts = primaries.map((p) => p.value(r)).filter((v): v is number => v !== undefined && Number.isFinite(v));
      const score = parts.length > 0 ? parts.reduce((a, b) => a + b, 0) / parts.length : Number.NaN;
      const isBest = Number.isFinite(score) && (best === null || score > best.score);
      if (isBest) best = { phase: phase.name, step, score, metric: primaries.map((p) => `${p.task}:${p.name}`).join('+') };
      const globalStep = plan.phases.slice(0, p).reduce((s, x) => s + x.steps, 0) + step;
      await metrics.append({ type: 'eval', phase: phase.name, phaseIndex: p, step, globalStep, ...m, score, best: isBest });
      emit({ type: 'eval', phase: phase.name, step, metrics: m, score, best: isBest });
      if (isBest && phase.restoreBest) {
        const path = await saveCheckpoint(ckptDir, `best-${phase.name}`, { model, position: { phaseIndex: p, phase: phase.name, step, globalStep }, plan: { name: plan.name, sha256: planSha }, state: stateOf(null, null), optimizer: null, pointer: false });
        emit({ type: 'checkpoint', phase: phase.name, step, path, kind: 'best' });
      }
    };
    const n = phase.batches.length;
    const cursors: BatchCursor[] = phase.batches.map((recipe, r) =>
      createBatchCursor({
        datasets: recipe.datasets.map((s) => requireSource(options.data, s, 'train', `phase ${phase.name}`)),
        batchSize: phase.batchSize,
        seed: deriveSeed(plan.seed, `data/${phase.name}/${r}`),
        preprocess,
        augment: phase.augment,
        cache,
        start: recipeBatchIndex(startStep, r, n),
      }),
    );
    const phaseBase = plan.phases.slice(0, p).reduce((s, x) => s + x.steps, 0);
    const remainingAfter = plan.phases.slice(p + 1).reduce((s, x) => s + x.steps, 0);
    try {
      for (let k = startStep; k < phase.steps; k++) {
        const r = k % n;
        const t0 = performance.now();
        const batch = await cursors[r]!.next();
        const learningRate = learningRateAt(phase.schedule, phase.optimizer.learningRate, k, phase.steps);
        const outcome = trainStep({ model, phase, recipe: phase.batches[r]!, step: k, teacherForcing, weighting, optimizer, variables, learningRate, gateClasses }, batch);
        const globalStep = phaseBase + k + 1;
        const stop = async (reason: string, applied: string, field: string, expected: string, found: string): Promise<never> => {
          await metrics.append({ type: 'stopped', phase: phase.name, phaseIndex: p, step: k + 1, globalStep, reason });
          emit({ type: 'stopped', phase: phase.name, step: k + 1, reason, lastCheckpoint });
          emit({ type: 'run-end', status: 'stopped', seconds: (performance.now() - started) / 1000 });
          throw new DataError(`Training stopped in phase ${phase.name} at step ${k + 1}: ${reason}; ${applied}${lastCheckpoint ? ` and the last good checkpoint is ${lastCheckpoint}` : ''}`, { field, expected, found });
        };
        const bad = Object.entries(outcome.losses).find(([, v]) => !Number.isFinite(v!)) ?? (Number.isFinite(outcome.total) ? undefined : ['total', outcome.total]);
        if (bad !== undefined) await stop(`loss ${bad[0]} is ${String(bad[1])}`, 'the update was not applied', `loss.${bad[0]}`, 'a finite loss', String(bad[1]));
        const evalDue = phase.evalEvery > 0 && (k + 1) % phase.evalEvery === 0 && k + 1 < phase.steps;
        const checkpointDue = phase.checkpointEvery > 0 && (k + 1) % phase.checkpointEvery === 0 && k + 1 < phase.steps;
        // Before anything is validated or saved: a diverged model must never become a checkpoint.
        if (evalDue || checkpointDue || k + 1 === phase.steps) {
          const nonFinite = firstNonFiniteWeight(model);
          if (nonFinite !== null) {
            await stop(`weight ${nonFinite.weight} of ${nonFinite.block} is ${String(nonFinite.value)} (the model diverged: lower the learning rate)`, 'nothing was saved', `${nonFinite.block}.${nonFinite.weight}`, 'finite weights', String(nonFinite.value));
          }
        }
        const seconds = (performance.now() - t0) / 1000;
        secondsPerStep = k === startStep ? seconds : 0.9 * secondsPerStep + 0.1 * seconds;
        const imagesPerSecond = batch.size / seconds;
        const event: Extract<TrainEvent, { type: 'step' }> = {
          type: 'step',
          phase: phase.name,
          phaseIndex: p,
          step: k + 1,
          steps: phase.steps,
          globalStep,
          totalSteps,
          losses: outcome.losses,
          total: outcome.total,
          weights: weighting.weights(),
          learningRate,
          imagesPerSecond,
          phaseSecondsLeft: (phase.steps - k - 1) * secondsPerStep,
          runSecondsLeft: (phase.steps - k - 1 + remainingAfter) * secondsPerStep,
          routing: outcome.routing,
        };
        emit(event);
        if ((k + 1) % plan.logEvery === 0 || k + 1 === phase.steps) {
          await metrics.append({ type: 'step', phase: phase.name, phaseIndex: p, step: k + 1, globalStep, losses: outcome.losses, total: outcome.total, weights: event.weights, lr: learningRate, imagesPerSecond, routing: outcome.routing, routed: outcome.routed });
        }
        if (evalDue) await validate(k + 1);
        if (checkpointDue) {
          const pos = { phaseIndex: p, phase: phase.name, step: k + 1, globalStep };
          const opt = optimizer.getState();
          lastCheckpoint = await saveCheckpoint(ckptDir, checkpointName(pos), { model, position: pos, plan: { name: plan.name, sha256: planSha }, state: stateOf(weighting, opt), optimizer: opt });
          await pruneCheckpoints(ckptDir, plan.keepCheckpoints);
          emit({ type: 'checkpoint', phase: phase.name, step: k + 1, path: lastCheckpoint, kind: 'periodic' });
        }
        if (options.signal?.aborted === true) {
          emit({ type: 'run-end', status: 'aborted', seconds: (performance.now() - started) / 1000 });
          return { status: 'aborted', plan, model, runDir, position: { phaseIndex: p, phase: phase.name, step: k + 1, globalStep }, gate: null, validation: null, seconds: (performance.now() - started) / 1000, trainingSeconds: elapsedBefore + (performance.now() - started) / 1000, data: dataHealth(options.data) };
        }
      }
      await validate(phase.steps);
      let restoredBest: { step: number; score: number } | null = null;
      const bestNow = best as BestState | null;
      if (phase.restoreBest && bestNow !== null && bestNow.step !== phase.steps) {
        const ckpt = await loadCheckpoint(join(ckptDir, `best-${phase.name}`));
        await restoreBlocks(model, ckpt);
        restoredBest = { step: bestNow.step, score: bestNow.score };
      }
      const next = plan.phases[p + 1];
      const pos: RunPosition = { phaseIndex: p + 1, phase: next?.name ?? '(end)', step: 0, globalStep: phaseBase + phase.steps };
      best = null;
      lastCheckpoint = await saveCheckpoint(ckptDir, checkpointName(pos), { model, position: pos, plan: { name: plan.name, sha256: planSha }, state: stateOf(null, null), optimizer: null });
      await pruneCheckpoints(ckptDir, plan.keepCheckpoints);
      emit({ type: 'checkpoint', phase: phase.name, step: phase.steps, path: lastCheckpoint, kind: 'phase-end' });
      emit({ type: 'phase-end', phase: phase.name, phaseIndex: p, seconds: (performance.now() - phaseStarted) / 1000, restoredBest });
      position = pos;
    } finally {
      for (const c of cursors) await c.close();
      optimizer.dispose();
      weighting.dispose();
      restoredOptimizer = null;
      restoredWeighting = null;
    }
  }

  // The gate's threshold: the largest one reaching the plan's sensitivity on validation data.
  const gateChoice = await fitGateThreshold(model, options.data, { imageSize: plan.imageSize, preprocess: plan.preprocess, targetSensitivity: plan.gateSensitivity, cache, gateClasses });
  if (gateChoice !== null) {
    await metrics.append({ type: 'gate-threshold', globalStep: totalSteps, threshold: gateChoice.threshold, sensitivity: gateChoice.sensitivity, specificity: gateChoice.specificity, targetSensitivity: plan.gateSensitivity });
    emit({ type: 'gate-threshold', threshold: gateChoice.threshold, sensitivity: gateChoice.sensitivity, specificity: gateChoice.specificity, targetSensitivity: plan.gateSensitivity });
  }
  model.setTrainable(Object.fromEntries(model.blocks().map(([b]) => [b, true])));
  const valAll: EvalSets = {};
  for (const s of PLAN_SOURCES) if (options.data[s] !== undefined) valAll[s] = options.data[s]!.val;
  const validation = Object.keys(valAll).length > 0 ? evalSummary(await evaluate(model, valAll, { imageSize: plan.imageSize, preprocess: plan.preprocess, cache, gateClasses })) : null;
  await model.save(join(runDir, 'weights'));
  const seconds = (performance.now() - started) / 1000;
  // What the data lost is part of the result: a metric over fewer images than the folder holds must say so.
  const health = dataHealth(options.data);
  await writeFileAtomic(join(runDir, 'eval.json'), `${JSON.stringify({ split: 'val', gate: gateChoice, validation, data: health }, null, 2)}\n`);
  emit({ type: 'run-end', status: 'completed', seconds });
  return { status: 'completed', plan, model, runDir, position, gate: gateChoice, validation, seconds, trainingSeconds: elapsedBefore + seconds, data: health };
}
