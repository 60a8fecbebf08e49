import type { SampleCache } from '@multichexnet/data';
import type { ThresholdChoice } from '@multichexnet/gating';
import { GATE_BLOCK, type MultiCheXNet } from '@multichexnet/model';
import type { TrainingData } from '../data/training-data';
import { calibrate } from '../eval/calibrate';
import { fitGateThreshold } from '../eval/gate-threshold';
import { evalSummary, evaluate, summarise, type EvalResult, type EvalSets, type EvalSources } from '../eval/evaluate';
import type { LossTask } from '../losses/loss-weighting';
import { PLAN_SOURCES, type Phase, type PlanSource, type TrainingPlan } from '../plan/plan-schema';
import { saveRunCheckpoint, type RunnerContext, type RunnerPhase } from './phase-runner';

/** What every validation of a run reads: the data, the plan's image settings, the cache and the gate's classes. */
export interface ValidationContext {
  plan: TrainingPlan;
  data: TrainingData;
  cache: SampleCache;
  gateClasses: string[];
}

/** The metric a loss ranks by: its task spec's primary metric, the gate's AUROC. */
function primaryOf(
  model: MultiCheXNet,
  task: LossTask,
): { name: string; value: (r: EvalResult) => number | undefined } {
  if (task === GATE_BLOCK) return { name: 'auroc', value: (r) => r.gate?.auroc };
  const name = model.taskSpec(task).evaluation.primary;
  return { name, value: (r) => (r.metrics[task] as Record<string, number> | undefined)?.[name] };
}

/** The losses a phase trains. */
export function phaseTasks(phase: Phase): LossTask[] {
  return [...new Set(phase.batches.flatMap((b) => b.tasks))];
}

function evalSourcesOf(phase: Phase, model: MultiCheXNet): EvalSources {
  const of = (task: LossTask): PlanSource[] => [
    ...new Set(phase.batches.filter((b) => b.tasks.includes(task)).flatMap((b) => b.datasets)),
  ];
  return Object.fromEntries([...model.tasks, GATE_BLOCK].map((t) => [t, of(t)]));
}

function valSets(data: TrainingData, sources: readonly PlanSource[]): EvalSets {
  const out: EvalSets = {};
  for (const s of new Set(sources)) if (data[s] !== undefined) out[s] = data[s]!.val;
  return out;
}

/** The numbers a validation writes to metrics.jsonl: each task's logged metrics as `<task>.<metric>`, the gate's. */
function metricsOf(r: EvalResult, model: MultiCheXNet): Record<string, number> {
  const m: Record<string, number> = {};
  for (const spec of model.taskSpecs) {
    const values = r.metrics[spec.name] as Record<string, number> | undefined;
    if (values !== undefined) for (const k of spec.evaluation.logged) m[`${spec.name}.${k}`] = values[k]!;
  }
  if (r.gate)
    Object.assign(m, {
      'gate.sensitivity': r.gate.sensitivity,
      'gate.specificity': r.gate.specificity,
      'gate.auroc': r.gate.auroc,
    });
  return m;
}

/**
 * The validation of a plan's phase at a step: the tasks it trains, on the validation splits of the datasets it
 * trains them on, scored with decision settings tuned on the same split; the mean of the tasks' primary metrics is
 * the phase's score. Logs it, tracks the best score (`ctx.state.best`) and, with `restoreBest`, saves its weights.
 */
export function phaseValidator(
  ctx: RunnerContext,
  v: ValidationContext,
  phase: Phase,
  rp: RunnerPhase,
): (step: number) => Promise<void> {
  const { model } = ctx;
  const sources = evalSourcesOf(phase, model);
  const val = valSets(v.data, Object.values(sources).flat() as PlanSource[]);
  const primaries = phaseTasks(phase).map((t) => ({ task: t, ...primaryOf(model, t) }));
  const options = {
    imageSize: v.plan.imageSize,
    preprocess: v.plan.preprocess,
    gating: phase.routing.type === 'teacher-forcing' ? ('truth' as const) : ('none' as const),
    sources,
    cache: v.cache,
    gateClasses: v.gateClasses,
  };
  return async (step) => {
    if (Object.keys(val).length === 0) return;
    const raw = await evaluate(model, val, options);
    // Scored with its decision settings tuned on the same split: what the head can do, not where 0.25 falls.
    const r: EvalResult = { ...raw, ...summarise(raw.raw, model, calibrate(raw.raw, model)) };
    const m = metricsOf(r, model);
    const parts = primaries.map((p) => p.value(r)).filter((x): x is number => x !== undefined && Number.isFinite(x));
    const score = parts.length > 0 ? parts.reduce((a, b) => a + b, 0) / parts.length : Number.NaN;
    const best = ctx.state.best;
    const isBest = Number.isFinite(score) && (best === null || score > best.score);
    if (isBest)
      ctx.state.best = {
        phase: phase.name,
        step,
        score,
        metric: primaries.map((p) => `${p.task}:${p.name}`).join('+'),
      };
    const globalStep = rp.stepsBefore + step;
    await ctx.metrics.append({
      type: 'eval',
      phase: phase.name,
      phaseIndex: rp.index,
      step,
      globalStep,
      ...m,
      score,
      best: isBest,
    });
    ctx.emit({ type: 'eval', phase: phase.name, step, metrics: m, score, best: isBest });
    if (isBest && phase.restoreBest)
      await saveRunCheckpoint(ctx, { phaseIndex: rp.index, phase: phase.name, step, globalStep }, 'best');
  };
}

/**
 * The gate's threshold: the largest one reaching the plan's sensitivity on the validation data of the gate's
 * sources. Sets it on the model, logs it; null when the model has no gate or the data no gate positives.
 */
export async function chooseGateThreshold(ctx: RunnerContext, v: ValidationContext): Promise<ThresholdChoice | null> {
  const choice = await fitGateThreshold(ctx.model, v.data, {
    imageSize: v.plan.imageSize,
    preprocess: v.plan.preprocess,
    targetSensitivity: v.plan.gateSensitivity,
    cache: v.cache,
    gateClasses: v.gateClasses,
  });
  if (choice === null) return null;
  const numbers = {
    threshold: choice.threshold,
    sensitivity: choice.sensitivity,
    specificity: choice.specificity,
    targetSensitivity: v.plan.gateSensitivity,
  };
  await ctx.metrics.append({ type: 'gate-threshold', globalStep: ctx.totalSteps, ...numbers });
  ctx.emit({ type: 'gate-threshold', ...numbers });
  return choice;
}

/** Validation numbers of the final model (the gated pipeline) on every validation split, as eval.json stores them. */
export async function validateFinal(
  model: MultiCheXNet,
  v: ValidationContext,
): Promise<Record<string, unknown> | null> {
  const valAll = valSets(v.data, PLAN_SOURCES);
  if (Object.keys(valAll).length === 0) return null;
  return evalSummary(
    await evaluate(model, valAll, {
      imageSize: v.plan.imageSize,
      preprocess: v.plan.preprocess,
      cache: v.cache,
      gateClasses: v.gateClasses,
    }),
  );
}
