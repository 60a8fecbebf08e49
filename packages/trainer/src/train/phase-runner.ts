import { DataError, type RunFolder } from '@multichexnet/core';
import type { MultiCheXNet } from '@multichexnet/model';
import type { LossWeightingState } from '../losses/loss-weighting';
import type { OptimizerState } from '../optim/optimizer';
import {
  checkpointName,
  loadCheckpoint,
  pruneCheckpoints,
  restoreBlocks,
  saveCheckpoint,
  type BestState,
  type CheckpointState,
  type RunPosition,
} from './checkpoint';
import type { TrainEvent, TrainEventHandler } from './events';
import { firstNonFiniteWeight } from './finite-weights';
import type { MetricsLog } from './metrics-log';

/** What every phase of a run shares: the model, where checkpoints go, the log, the events and the run's state. */
export interface RunnerContext {
  model: MultiCheXNet;
  /** The run folder; null: no checkpoints are written (a fine-tuning run without `runDir`). */
  folder: RunFolder | null;
  /** The checkpoints' identity (plan name and SHA-256). */
  id: { name: string; sha256: string };
  metrics: MetricsLog;
  emit: TrainEventHandler;
  signal?: AbortSignal;
  /** A step record goes to the metrics log every `logEvery` steps (and at the end of a phase). */
  logEvery: number;
  keepCheckpoints: number;
  totalSteps: number;
  /** `performance.now()` at the start of this call, and the training seconds of the calls before it. */
  clock: { started: number; elapsedBefore: number };
  /** Where the run stands; the runner moves it, the validation sets `best`. */
  state: { position: RunPosition; best: BestState | null; lastCheckpoint: string | null };
}

/** One phase as the runner sees it. */
export interface RunnerPhase {
  name: string;
  index: number;
  steps: number;
  evalEvery: number;
  checkpointEvery: number;
  /** At the end of the phase, go back to the weights of its best validation (checkpoint `best-<name>`). */
  restoreBest: boolean;
  /** The name of the phase after it (none: the last one). */
  next?: string;
  /** Steps of the run before this phase and after it. */
  stepsBefore: number;
  stepsAfter: number;
}

/** What one training step did (its update is applied only when every loss is finite). */
export interface PhaseStepResult {
  losses: Partial<Record<string, number>>;
  total: number;
  learningRate: number;
  /** Images of the batch. */
  images: number;
  weights: Record<string, number>;
  routing: 'ground-truth' | 'gate' | null;
  /** Fields of the step's metrics.jsonl record (besides its type and position). */
  record: Record<string, unknown>;
}

/** How a phase trains: the runner calls `step` for each step, `state` for each checkpoint, `validate` when due. */
export interface PhaseSteps {
  step(k: number): Promise<PhaseStepResult>;
  /** The optimizer moments and loss-weighting state a periodic checkpoint stores. */
  state(): { optimizer: OptimizerState | null; weighting: LossWeightingState | null };
  /** Validation at a step (absent: the phase is not validated). */
  validate?(step: number): Promise<void>;
}

/** Seconds of this call and of the run so far. */
export function runnerSeconds(ctx: RunnerContext): { seconds: number; training: number } {
  const seconds = (performance.now() - ctx.clock.started) / 1000;
  return { seconds, training: ctx.clock.elapsedBefore + seconds };
}

/**
 * Saves a checkpoint of the run (weights, and the optimizer and weighting state for a periodic one). `best` writes
 * `best-<phase>` without moving `latest.json`; the event names `announced` (the phase-end one: the phase that ended).
 * Returns its path, null without a run folder.
 */
export async function saveRunCheckpoint(
  ctx: RunnerContext,
  pos: RunPosition,
  kind: 'periodic' | 'phase-end' | 'best',
  steps?: PhaseSteps,
  announced: { phase: string; step: number } = pos,
): Promise<string | null> {
  if (ctx.folder === null) return null;
  const s = steps?.state() ?? { optimizer: null, weighting: null };
  const state: CheckpointState = {
    weighting: s.weighting,
    optimizer: s.optimizer === null ? null : { type: s.optimizer.type, steps: s.optimizer.steps },
    best: ctx.state.best,
    gateThreshold: ctx.model.gate?.threshold ?? null,
    elapsedSeconds: runnerSeconds(ctx).training,
  };
  const name = kind === 'best' ? `best-${pos.phase}` : checkpointName(pos);
  const args = { model: ctx.model, position: pos, plan: ctx.id, state, optimizer: s.optimizer };
  const path = await saveCheckpoint(ctx.folder.checkpoints, name, kind === 'best' ? { ...args, pointer: false } : args);
  if (kind !== 'best') {
    ctx.state.lastCheckpoint = path;
    await pruneCheckpoints(ctx.folder.checkpoints, ctx.keepCheckpoints);
  }
  ctx.emit({ type: 'checkpoint', phase: announced.phase, step: announced.step, path, kind });
  return path;
}

/** Logs and announces a stop, then throws it as a DataError naming phase, step and the last good checkpoint. */
async function stop(
  ctx: RunnerContext,
  pos: RunPosition,
  why: { reason: string; applied: string; field: string; expected: string; found: string },
): Promise<never> {
  const last = ctx.state.lastCheckpoint;
  await ctx.metrics.append({
    type: 'stopped',
    phase: pos.phase,
    phaseIndex: pos.phaseIndex,
    step: pos.step,
    globalStep: pos.globalStep,
    reason: why.reason,
  });
  ctx.emit({ type: 'stopped', phase: pos.phase, step: pos.step, reason: why.reason, lastCheckpoint: last });
  ctx.emit({ type: 'run-end', status: 'stopped', seconds: runnerSeconds(ctx).seconds });
  throw new DataError(
    `Training stopped in phase ${pos.phase} at step ${pos.step}: ${why.reason}; ${why.applied}${last ? ` and the last good checkpoint is ${last}` : ''}`,
    { field: why.field, expected: why.expected, found: why.found },
  );
}

/** Stops the run on a non-finite loss (its update was not applied) or, when `checkWeights`, a non-finite weight. */
async function stopIfNotFinite(
  ctx: RunnerContext,
  pos: RunPosition,
  r: PhaseStepResult,
  checkWeights: boolean,
): Promise<void> {
  const bad =
    Object.entries(r.losses).find(([, v]) => !Number.isFinite(v!)) ??
    (Number.isFinite(r.total) ? undefined : ['total', r.total]);
  if (bad !== undefined)
    await stop(ctx, pos, {
      reason: `loss ${bad[0]} is ${String(bad[1])}`,
      applied: 'the update was not applied',
      field: `loss.${bad[0]}`,
      expected: 'a finite loss',
      found: String(bad[1]),
    });
  // Before anything is validated or saved: a diverged model must never become a checkpoint.
  const nonFinite = checkWeights ? firstNonFiniteWeight(ctx.model) : null;
  if (nonFinite !== null) {
    const reason = `weight ${nonFinite.weight} of ${nonFinite.block} is ${String(nonFinite.value)} (the model diverged: lower the learning rate)`;
    await stop(ctx, pos, {
      reason,
      applied: 'nothing was saved',
      field: `${nonFinite.block}.${nonFinite.weight}`,
      expected: 'finite weights',
      found: String(nonFinite.value),
    });
  }
}

/** The step event of step k (0-based) of a phase; `secondsPerStep` is the running estimate. */
function stepEvent(
  ctx: RunnerContext,
  phase: RunnerPhase,
  k: number,
  r: PhaseStepResult,
  seconds: number,
  secondsPerStep: number,
): Extract<TrainEvent, { type: 'step' }> {
  return {
    type: 'step',
    phase: phase.name,
    phaseIndex: phase.index,
    step: k + 1,
    steps: phase.steps,
    globalStep: phase.stepsBefore + k + 1,
    totalSteps: ctx.totalSteps,
    losses: r.losses,
    total: r.total,
    weights: r.weights,
    learningRate: r.learningRate,
    imagesPerSecond: r.images / seconds,
    phaseSecondsLeft: (phase.steps - k - 1) * secondsPerStep,
    runSecondsLeft: (phase.steps - k - 1 + phase.stepsAfter) * secondsPerStep,
    routing: r.routing,
  };
}

/**
 * Runs a phase from `startStep` to its end: each step, its stop checks, progress event, metrics record, validation
 * and periodic checkpoint when due, the abort check; then the final validation, the return to the best weights
 * (`restoreBest`) and the phase-end checkpoint, from which a resumed run goes on with the next phase.
 * Returns 'aborted' when `ctx.signal` stopped it (`ctx.state.position` then says where).
 */
export async function runPhase(
  ctx: RunnerContext,
  phase: RunnerPhase,
  steps: PhaseSteps,
  startStep: number,
): Promise<'completed' | 'aborted'> {
  const phaseStarted = performance.now();
  let secondsPerStep = 0.15;
  for (let k = startStep; k < phase.steps; k++) {
    const t0 = performance.now();
    const r = await steps.step(k);
    const pos: RunPosition = {
      phaseIndex: phase.index,
      phase: phase.name,
      step: k + 1,
      globalStep: phase.stepsBefore + k + 1,
    };
    const evalDue =
      steps.validate !== undefined && phase.evalEvery > 0 && (k + 1) % phase.evalEvery === 0 && k + 1 < phase.steps;
    const checkpointDue =
      ctx.folder !== null && phase.checkpointEvery > 0 && (k + 1) % phase.checkpointEvery === 0 && k + 1 < phase.steps;
    await stopIfNotFinite(ctx, pos, r, evalDue || checkpointDue || k + 1 === phase.steps);
    const seconds = (performance.now() - t0) / 1000;
    secondsPerStep = k === startStep ? seconds : 0.9 * secondsPerStep + 0.1 * seconds;
    const event = stepEvent(ctx, phase, k, r, seconds, secondsPerStep);
    ctx.emit(event);
    if ((k + 1) % ctx.logEvery === 0 || k + 1 === phase.steps) {
      await ctx.metrics.append({
        type: 'step',
        phase: phase.name,
        phaseIndex: phase.index,
        step: k + 1,
        globalStep: pos.globalStep,
        ...r.record,
        imagesPerSecond: event.imagesPerSecond,
      });
    }
    if (evalDue) await steps.validate!(k + 1);
    if (checkpointDue) await saveRunCheckpoint(ctx, pos, 'periodic', steps);
    if (ctx.signal?.aborted === true) {
      ctx.state.position = pos;
      ctx.emit({ type: 'run-end', status: 'aborted', seconds: runnerSeconds(ctx).seconds });
      return 'aborted';
    }
  }
  await finishPhase(ctx, phase, steps, phaseStarted);
  return 'completed';
}

/** The end of a phase: last validation, back to the best weights if asked, the phase-end checkpoint. */
async function finishPhase(
  ctx: RunnerContext,
  phase: RunnerPhase,
  steps: PhaseSteps,
  phaseStarted: number,
): Promise<void> {
  if (steps.validate !== undefined) await steps.validate(phase.steps);
  let restoredBest: { step: number; score: number } | null = null;
  const best = ctx.state.best;
  if (phase.restoreBest && best !== null && best.step !== phase.steps && ctx.folder !== null) {
    await restoreBlocks(ctx.model, await loadCheckpoint(ctx.folder.checkpoint(`best-${phase.name}`)));
    restoredBest = { step: best.step, score: best.score };
  }
  const pos: RunPosition = {
    phaseIndex: phase.index + 1,
    phase: phase.next ?? '(end)',
    step: 0,
    globalStep: phase.stepsBefore + phase.steps,
  };
  ctx.state.best = null;
  await saveRunCheckpoint(ctx, pos, 'phase-end', undefined, { phase: phase.name, step: phase.steps });
  ctx.emit({
    type: 'phase-end',
    phase: phase.name,
    phaseIndex: phase.index,
    seconds: (performance.now() - phaseStarted) / 1000,
    restoredBest,
  });
  ctx.state.position = pos;
}
