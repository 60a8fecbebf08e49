import { tf, type AnyTaskSpec, type EncoderFeatures } from '@multichexnet/core';
import { createEncoderCache, type GateConfig, type RoutingSource, type TeacherForcing, type TaskRouting } from '@multichexnet/gating';
import type { Batch } from '@multichexnet/data';
import { GATE_BLOCK, type MultiCheXNet, type TrainableVariable } from '@multichexnet/model';
import { batchTargets } from '../data/batch-targets';
import { microBatches } from '../data/micro-batches';
import type { LossTask, LossWeighting } from '../losses/loss-weighting';
import type { Optimizer } from '../optim/optimizer';
import type { BatchRecipe, Phase } from '../plan/plan-schema';

/** What one optimizer step did. */
export interface StepOutcome {
  /**
   * Plain value of each task loss computed in this step (tasks without samples are absent); with micro-batches, the
   * mean over the micro-batches that computed it.
   */
  losses: Partial<Record<LossTask, number>>;
  /** The weighted total the optimizer minimised (with micro-batches, their mean). */
  total: number;
  /** Whether the update was applied (false: no loss in this batch, or a non-finite loss). */
  applied: boolean;
  /** Teacher-forcing source of the batch (null when the phase routes every sample). */
  routing: RoutingSource | null;
  /**
   * Samples each routed head (det / seg style) trained on, and the gate's false positives / negatives among them
   * (over the whole batch), by task.
   */
  routed: Record<string, RoutedCount>;
}

/** What routing gave one routed head in a step. */
export interface RoutedCount {
  samples: number;
  falsePositives: number;
  falseNegatives: number;
}

/** Everything a step needs besides the batch. */
export interface StepContext {
  model: MultiCheXNet;
  phase: Phase;
  recipe: BatchRecipe;
  /** 0-based step inside the phase. */
  step: number;
  teacherForcing: TeacherForcing | null;
  weighting: LossWeighting;
  optimizer: Optimizer;
  variables: TrainableVariable[];
  learningRate: number;
  gateClasses: readonly string[];
}

const sameOrder = (rows: number[], n: number): boolean => rows.length === n && rows.every((r, i) => r === i);

/** Gradients and losses of one (micro-)batch, before any update. */
interface BatchGradients {
  /** Gradient of each trainable variable the losses reach, by variable key. */
  grads: Map<string, tf.Tensor>;
  losses: Partial<Record<LossTask, number>>;
  total: number;
  /** No loss reached a trainable variable (nothing to learn from these samples). */
  empty: boolean;
  routed: StepOutcome['routed'];
}

/**
 * One optimizer step on one batch: its micro-batches (`phase.accumulate`, default 1) one after the other, each
 * through the network and back, their gradients averaged, then the update, unless a loss is not finite (the caller
 * stops then). The teacher-forcing draw is made once per step and holds for every micro-batch.
 *
 * Averaging the micro-batch gradients is PyTorch's `loss / k` accumulation: it equals the full-batch gradient for a
 * mean loss over samples that all carry the same labels and a network without BatchNorm. BatchNorm normalises each
 * micro-batch with its own statistics and updates its moving averages once per micro-batch; a task without samples in
 * one micro-batch adds nothing to that micro-batch's share.
 */
export function trainStep(ctx: StepContext, batch: Batch): StepOutcome {
  const { phase } = ctx;
  const routeTasks = ctx.model.taskSpecs.filter((s) => s.routed && ctx.recipe.tasks.includes(s.name));
  const source: RoutingSource | null = phase.routing.type === 'teacher-forcing' && routeTasks.length > 0 ? ctx.teacherForcing!.decide(ctx.step, phase.name) : null;
  const parts = microBatches(batch, phase.accumulate ?? 1);
  const sums = new Map<string, tf.Tensor>();
  const lossSums: Partial<Record<LossTask, { sum: number; count: number }>> = {};
  const routed: StepOutcome['routed'] = {};
  let total = 0;
  let learned = false;
  try {
    for (const part of parts) {
      const r = batchGradients(ctx, part, source);
      for (const [key, g] of r.grads) {
        const previous = sums.get(key);
        if (previous === undefined) sums.set(key, g);
        else {
          sums.set(key, tf.add(previous, g));
          tf.dispose([previous, g]);
        }
      }
      for (const [k, v] of Object.entries(r.losses) as [LossTask, number][]) {
        const e = lossSums[k] ?? { sum: 0, count: 0 };
        lossSums[k] = { sum: e.sum + v, count: e.count + 1 };
      }
      for (const [k, v] of Object.entries(r.routed)) {
        const e = routed[k] ?? { samples: 0, falsePositives: 0, falseNegatives: 0 };
        routed[k] = { samples: e.samples + v.samples, falsePositives: e.falsePositives + v.falsePositives, falseNegatives: e.falseNegatives + v.falseNegatives };
      }
      total += r.total;
      learned ||= !r.empty;
    }
    const losses: Partial<Record<LossTask, number>> = {};
    for (const [k, e] of Object.entries(lossSums) as [LossTask, { sum: number; count: number }][]) losses[k] = e.sum / e.count;
    total /= parts.length;
    const finite = Number.isFinite(total) && Object.values(losses).every((v) => Number.isFinite(v));
    const applied = learned && finite;
    if (applied) {
      const grads = parts.length === 1 ? sums : new Map([...sums].map(([key, g]) => [key, tf.div(g, parts.length)]));
      ctx.optimizer.apply(ctx.variables, grads, ctx.learningRate);
      ctx.weighting.update(losses);
      if (grads !== sums) tf.dispose([...grads.values()]);
    }
    return { losses, total, applied, routing: source, routed };
  } finally {
    tf.dispose([...sums.values()]);
  }
}

/**
 * Forward and backward pass of one (micro-)batch: the encoder runs once (shared by every head through the cache), the
 * unrouted tasks (CheXCls) and the gate on all samples, each routed task (CheXDet, CheXSeg) on the rows routing
 * chooses (teacher forcing: ground-truth positives, or the gate's positives with its false positives as empty
 * targets), each task's loss from its spec, the weighting's total, gradients of the trainable variables.
 */
function batchGradients(ctx: StepContext, batch: Batch, source: RoutingSource | null): BatchGradients {
  const { model, recipe, weighting } = ctx;
  const gate = model.gate;
  const t = batchTargets(batch, recipe, model, ctx.gateClasses);
  const B = t.size;
  const S = t.imageSize;
  const tasks = recipe.tasks;
  // A cls-path gate reads the probabilities of its task: that task's head runs whenever the gate decides.
  const gateTask = source === 'gate' && gate?.reads === 'probabilities' ? (gate.config as Extract<GateConfig, { kind: 'cls-path' }>).task : null;

  const images = tf.tensor4d(batch.images, [B, S, S, 1]);
  const cache = createEncoderCache(model.encoder);
  const kept: Partial<Record<LossTask, tf.Scalar>> = {};
  const routed: StepOutcome['routed'] = {};
  let empty = false;

  const lossFn = (): tf.Scalar => {
    const features = cache.features(images, { training: model.encoder.trainable });
    const losses: Partial<Record<LossTask, tf.Scalar>> = {};
    const rowsOf = (rows: number[]): EncoderFeatures => (sameOrder(rows, B) ? features : cache.rows(rows));
    const apply = (spec: AnyTaskSpec, rows: EncoderFeatures): tf.Tensor => {
      const head = model.heads[spec.name]!;
      return head.apply(rows, { training: head.trainable });
    };
    let gateInput: tf.Tensor2D | null = null;
    for (const spec of model.taskSpecs.filter((s) => !s.routed)) {
      const targets = t.tasks[spec.name];
      const learns = targets !== undefined && targets.some((x) => x !== null);
      if (!learns && spec.name !== gateTask) continue;
      const out = apply(spec, features);
      if (learns) losses[spec.name] = spec.loss(model.heads[spec.name], out, targets, S);
      // The gate's decision reads the current network, outside the gradient: routing chooses samples, it is not learned.
      if (spec.name === gateTask) gateInput = tf.sigmoid(out) as tf.Tensor2D;
    }
    if (tasks.includes(GATE_BLOCK) && gate?.head && t.gateLabels.some((v) => !Number.isNaN(v))) {
      losses[GATE_BLOCK] = gate.head.loss(tf.tensor1d(t.gateLabels), gate.head.apply(features, { training: gate.head.trainable }));
    }
    let gatePositive: boolean[] | null = null;
    if (source === 'gate' && gate) {
      const decisions = gate.reads === 'probabilities' ? gate.decide(gateInput!) : gate.decide(features);
      gatePositive = decisions.map((d) => d.positive);
    }
    for (const spec of model.taskSpecs.filter((s) => s.routed)) {
      const targets = t.tasks[spec.name];
      if (targets === undefined) continue;
      const labeled = targets.map((x) => x !== null);
      const truthPositive = targets.map((x) => x !== null && spec.targets.isPositive(x));
      let r: TaskRouting;
      if (source === null) {
        const indices = labeled.flatMap((l, i) => (l ? [i] : []));
        r = { source: 'ground-truth', indices, targets: indices.map(() => 'truth'), falsePositives: [], falseNegatives: [] };
      } else {
        r = ctx.teacherForcing!.route(source, { truthPositive, gatePositive: gatePositive ?? truthPositive, labeled });
      }
      routed[spec.name] = { samples: r.indices.length, falsePositives: r.falsePositives.length, falseNegatives: r.falseNegatives.length };
      if (r.indices.length === 0) continue;
      const head = model.heads[spec.name]!;
      const out = apply(spec, rowsOf(r.indices));
      // An empty target (a gate false positive) says "nothing here": no box, an all-zero mask.
      const chosen = r.indices.map((i, k) => (r.targets[k] === 'truth' ? targets[i]! : spec.targets.empty(head, S)));
      losses[spec.name] = spec.loss(head, out, chosen, S);
    }
    for (const [k, v] of Object.entries(losses) as [LossTask, tf.Scalar][]) kept[k] = tf.keep(v);
    // A loss reaches a trainable variable through its head or through the encoder; frozen-only losses are logged
    // but cannot move anything.
    const connected = (Object.keys(losses) as LossTask[]).some((k) => model.encoder.trainable || model.block(k)?.trainable === true);
    if (!connected) {
      // Nothing to learn from this batch: a zero connected to the variables keeps variableGrads well defined;
      // the update is not applied.
      empty = true;
      return tf.mul(tf.sum(ctx.variables[0]!.variable), 0) as tf.Scalar;
    }
    return weighting.combine(losses);
  };

  try {
    const vars = ctx.variables.map((v) => v.variable);
    const { value, grads } = tf.variableGrads(lossFn, vars);
    const total = value.dataSync()[0]!;
    value.dispose();
    const losses: Partial<Record<LossTask, number>> = {};
    for (const [k, v] of Object.entries(kept) as [LossTask, tf.Scalar][]) losses[k] = v.dataSync()[0]!;
    const byKey = new Map<string, tf.Tensor>();
    for (const v of ctx.variables) {
      const g = grads[v.variable.name];
      if (g !== undefined && !empty) byKey.set(v.key, g);
      else if (g !== undefined) g.dispose();
    }
    return { grads: byKey, losses, total, empty, routed };
  } finally {
    tf.dispose(Object.values(kept) as tf.Tensor[]);
    cache.clear();
    images.dispose();
  }
}
