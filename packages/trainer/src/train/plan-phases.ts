import { deriveSeed } from '@multichexnet/core';
import { createTeacherForcing } from '@multichexnet/gating';
import { createBatchCursor, recipeBatchIndex, type BatchCursor } from '../data/batch-cursor';
import { requireSource } from '../data/training-data';
import { createLossWeighting, type LossWeighting } from '../losses/loss-weighting';
import { learningRateAt } from '../optim/lr-schedule';
import { createOptimizer, type Optimizer } from '../optim/optimizer';
import type { Phase } from '../plan/plan-schema';
import type { RunStart } from './open-run';
import { runPhase, type PhaseSteps, type RunnerContext, type RunnerPhase } from './phase-runner';
import { trainStep } from './train-step';
import { phaseTasks, phaseValidator, type ValidationContext } from './validation';

/** The runner's view of phase `p` of the plan. */
function runnerPhase(v: ValidationContext, p: number): RunnerPhase {
  const phases = v.plan.phases;
  const phase = phases[p]!;
  const sum = (list: readonly Phase[]): number => list.reduce((s, x) => s + x.steps, 0);
  return {
    name: phase.name,
    index: p,
    steps: phase.steps,
    evalEvery: phase.evalEvery,
    checkpointEvery: phase.checkpointEvery,
    restoreBest: phase.restoreBest,
    ...(phases[p + 1] !== undefined ? { next: phases[p + 1]!.name } : {}),
    stepsBefore: sum(phases.slice(0, p)),
    stepsAfter: sum(phases.slice(p + 1)),
  };
}

/** The seeded batch cursors of a phase's recipes, opened at the batch each one reaches at `startStep`. */
function phaseCursors(v: ValidationContext, phase: Phase, startStep: number): BatchCursor[] {
  const n = phase.batches.length;
  const preprocess = { ...v.plan.preprocess, size: v.plan.imageSize };
  return phase.batches.map((recipe, r) =>
    createBatchCursor({
      datasets: recipe.datasets.map((s) => requireSource(v.data, s, 'train', `phase ${phase.name}`)),
      batchSize: phase.batchSize,
      seed: deriveSeed(v.plan.seed, `data/${phase.name}/${r}`),
      preprocess,
      augment: phase.augment,
      cache: v.cache,
      start: recipeBatchIndex(startStep, r, n),
    }),
  );
}

/** A plan phase's steps: batches by recipe (step k uses recipe k mod n), schedule, loss weighting, teacher forcing. */
function planPhaseSteps(
  ctx: RunnerContext,
  v: ValidationContext,
  phase: Phase,
  rp: RunnerPhase,
  parts: { weighting: LossWeighting; optimizer: Optimizer; cursors: BatchCursor[] },
): PhaseSteps {
  const { model } = ctx;
  const { weighting, optimizer, cursors } = parts;
  const variables = [...model.trainableVariables(), ...weighting.variables];
  // Draws depend on (seed, phase name, step) only: see TeacherForcing.decide.
  const teacherForcing =
    phase.routing.type === 'teacher-forcing'
      ? createTeacherForcing({ p: phase.routing.p, seed: deriveSeed(v.plan.seed, 'teacher-forcing') })
      : null;
  return {
    step: async (k) => {
      const r = k % phase.batches.length;
      const batch = await cursors[r]!.next();
      const learningRate = learningRateAt(phase.schedule, phase.optimizer.learningRate, k, phase.steps);
      const outcome = trainStep(
        {
          model,
          phase,
          recipe: phase.batches[r]!,
          step: k,
          teacherForcing,
          weighting,
          optimizer,
          variables,
          learningRate,
          gateClasses: v.gateClasses,
        },
        batch,
      );
      const weights = weighting.weights();
      const record = {
        losses: outcome.losses,
        total: outcome.total,
        weights,
        lr: learningRate,
        routing: outcome.routing,
        routed: outcome.routed,
      };
      return {
        losses: outcome.losses,
        total: outcome.total,
        learningRate,
        images: batch.size,
        weights,
        routing: outcome.routing,
        record,
      };
    },
    state: () => ({ optimizer: optimizer.getState(), weighting: weighting.getState() }),
    validate: phaseValidator(ctx, v, phase, rp),
  };
}

/**
 * Phase `p` of the plan from `startStep`: its blocks frozen / trainable, a fresh optimizer and loss weighting (or
 * the checkpoint's, when the run resumes inside the phase), then the phase runner.
 */
async function runPlanPhase(
  ctx: RunnerContext,
  v: ValidationContext,
  p: number,
  startStep: number,
  resumed: RunStart | null,
): Promise<'completed' | 'aborted'> {
  const { model } = ctx;
  const phase = v.plan.phases[p]!;
  model.setTrainable(Object.fromEntries(model.blocks().map(([b]) => [b, phase.trainable.includes(b)])));
  const weighting = createLossWeighting(phase.lossWeighting, phaseTasks(phase), {
    seed: deriveSeed(v.plan.seed, `weighting/${phase.name}`),
  });
  const optimizer = createOptimizer(phase.optimizer);
  let cursors: BatchCursor[] = [];
  try {
    if (resumed !== null) {
      if (resumed.optimizer !== null) optimizer.setState(resumed.optimizer);
      if (resumed.weighting !== null) weighting.setState(resumed.weighting);
      optimizer.checkAgainst([...model.trainableVariables(), ...weighting.variables]);
    }
    if (startStep === 0) ctx.state.best = null;
    ctx.emit({
      type: 'phase-start',
      phase: phase.name,
      phaseIndex: p,
      phases: v.plan.phases.length,
      steps: phase.steps,
      startStep,
      trainable: phase.trainable,
      description: phase.description,
    });
    const rp = runnerPhase(v, p);
    cursors = phaseCursors(v, phase, startStep);
    return await runPhase(ctx, rp, planPhaseSteps(ctx, v, phase, rp, { weighting, optimizer, cursors }), startStep);
  } finally {
    for (const c of cursors) await c.close();
    optimizer.dispose();
    weighting.dispose();
  }
}

/**
 * Runs the plan's phases (Algorithm 1's stages, joint or alternating MTL) from where `start` stands: the phase it
 * names from its step, the following ones from their start. Stops at the first aborted phase.
 */
export async function runPlanPhases(
  ctx: RunnerContext,
  v: ValidationContext,
  start: RunStart,
): Promise<'completed' | 'aborted'> {
  for (let p = start.position.phaseIndex; p < v.plan.phases.length; p++) {
    const startStep = p === start.position.phaseIndex ? start.position.step : 0;
    const status = await runPlanPhase(ctx, v, p, startStep, startStep > 0 ? start : null);
    if (status === 'aborted') return status;
  }
  return 'completed';
}
