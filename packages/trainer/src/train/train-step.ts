import { tf, type AnyTaskSpec, type EncoderFeatures } from '@multichexnet/core';
import {
  createEncoderCache,
  type GateConfig,
  type RoutingSource,
  type TeacherForcing,
  type TaskRouting,
} from '@multichexnet/gating';
import type { Batch } from '@multichexnet/data';
import { GATE_BLOCK, type MultiCheXNet, type TrainableVariable } from '@multichexnet/model';
import { batchTargets } from '../data/batch-targets';
import { microBatches } from '../data/micro-batches';
import type { GradientMap, LossTask, LossWeighting } from '../losses/loss-weighting';
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

/** The gradient of the combined loss, or (per-task weightings) of each task's own loss. */
type GradientGroup = LossTask | 'combined';

/** Gradients and losses of one (micro-)batch, before any update. */
interface BatchGradients {
  /** Gradient of each trainable variable the losses reach, by variable key, per group. */
  grads: Map<GradientGroup, GradientMap>;
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
 *
 * A weighting that needs per-task gradients (gradnorm, pcgrad) gets each task loss's gradient, averaged over the
 * micro-batches like the combined one, and forms the step gradient with `combineGradients` (once per applied step).
 */
export function trainStep(ctx: StepContext, batch: Batch): StepOutcome {
  const { phase } = ctx;
  const routeTasks = ctx.model.taskSpecs.filter((s) => s.routed && ctx.recipe.tasks.includes(s.name));
  const source: RoutingSource | null =
    phase.routing.type === 'teacher-forcing' && routeTasks.length > 0
      ? ctx.teacherForcing!.decide(ctx.step, phase.name)
      : null;
  const parts = microBatches(batch, phase.accumulate ?? 1);
  const sums = new Map<GradientGroup, GradientMap>();
  const lossSums: Partial<Record<LossTask, { sum: number; count: number }>> = {};
  const routed: StepOutcome['routed'] = {};
  let total = 0;
  let learned = false;
  try {
    for (const part of parts) {
      const r = batchGradients(ctx, part, source);
      for (const [group, grads] of r.grads) {
        const groupSums = sums.get(group) ?? new Map<string, tf.Tensor>();
        sums.set(group, groupSums);
        for (const [key, g] of grads) {
          const previous = groupSums.get(key);
          if (previous === undefined) groupSums.set(key, g);
          else {
            groupSums.set(key, tf.add(previous, g));
            tf.dispose([previous, g]);
          }
        }
      }
      for (const [k, v] of Object.entries(r.losses) as [LossTask, number][]) {
        const e = lossSums[k] ?? { sum: 0, count: 0 };
        lossSums[k] = { sum: e.sum + v, count: e.count + 1 };
      }
      for (const [k, v] of Object.entries(r.routed)) {
        const e = routed[k] ?? { samples: 0, falsePositives: 0, falseNegatives: 0 };
        routed[k] = {
          samples: e.samples + v.samples,
          falsePositives: e.falsePositives + v.falsePositives,
          falseNegatives: e.falseNegatives + v.falseNegatives,
        };
      }
      total += r.total;
      learned ||= !r.empty;
    }
    const losses: Partial<Record<LossTask, number>> = {};
    for (const [k, e] of Object.entries(lossSums) as [LossTask, { sum: number; count: number }][])
      losses[k] = e.sum / e.count;
    total /= parts.length;
    const finite = Number.isFinite(total) && Object.values(losses).every((v) => Number.isFinite(v));
    const applied = learned && finite;
    if (applied) {
      const mean = (m: GradientMap): GradientMap =>
        parts.length === 1 ? m : new Map([...m].map(([key, g]) => [key, tf.div(g, parts.length)]));
      const owned: GradientMap[] = [];
      try {
        let grads: GradientMap;
        if (ctx.weighting.needsTaskGradients) {
          const byTask: Partial<Record<LossTask, GradientMap>> = {};
          for (const [group, m] of sums) if (group !== 'combined') byTask[group] = mean(m);
          if (parts.length > 1) owned.push(...(Object.values(byTask) as GradientMap[]));
          grads = ctx.weighting.combineGradients({ byTask, losses, shared: sharedKeys(ctx), step: ctx.step });
          owned.push(grads);
        } else {
          grads = mean(sums.get('combined')!);
          if (parts.length > 1) owned.push(grads);
        }
        ctx.optimizer.apply(ctx.variables, grads, ctx.learningRate);
        ctx.weighting.update(losses);
      } finally {
        for (const m of owned) tf.dispose([...m.values()]);
      }
    }
    return { losses, total, applied, routing: source, routed };
  } finally {
    for (const m of sums.values()) tf.dispose([...m.values()]);
  }
}

/** Keys of the encoder's trainable variables: the weights every task shares. */
function sharedKeys(ctx: StepContext): Set<string> {
  const encoder = new Set(
    ctx.model.encoder.trainable ? ctx.model.encoder.trainableWeights.map((w) => w.read().id) : [],
  );
  return new Set(ctx.variables.filter((v) => encoder.has(v.variable.id)).map((v) => v.key));
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
  const gateTask =
    source === 'gate' && gate?.reads === 'probabilities'
      ? (gate.config as Extract<GateConfig, { kind: 'cls-path' }>).task
      : null;

  const images = tf.tensor4d(batch.images, [B, S, S, 1]);
  const cache = createEncoderCache(model.encoder);
  const kept: Partial<Record<LossTask, tf.Scalar>> = {};
  const routed: StepOutcome['routed'] = {};
  let empty = false;

  const taskLosses = (): Partial<Record<LossTask, tf.Scalar>> => {
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
      losses[GATE_BLOCK] = gate.head.loss(
        tf.tensor1d(t.gateLabels),
        gate.head.apply(features, { training: gate.head.trainable }),
      );
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
        r = {
          source: 'ground-truth',
          indices,
          targets: indices.map(() => 'truth'),
          falsePositives: [],
          falseNegatives: [],
        };
      } else {
        r = ctx.teacherForcing!.route(source, { truthPositive, gatePositive: gatePositive ?? truthPositive, labeled });
      }
      routed[spec.name] = {
        samples: r.indices.length,
        falsePositives: r.falsePositives.length,
        falseNegatives: r.falseNegatives.length,
      };
      if (r.indices.length === 0) continue;
      const head = model.heads[spec.name]!;
      const out = apply(spec, rowsOf(r.indices));
      // An empty target (a gate false positive) says "nothing here": no box, an all-zero mask.
      const chosen = r.indices.map((i, k) => (r.targets[k] === 'truth' ? targets[i]! : spec.targets.empty(head, S)));
      losses[spec.name] = spec.loss(head, out, chosen, S);
    }
    // Every pass computes the same losses; the first one keeps their values for the log.
    if (Object.keys(kept).length === 0)
      for (const [k, v] of Object.entries(losses) as [LossTask, tf.Scalar][]) kept[k] = tf.keep(v);
    return losses;
  };
  // A loss reaches a trainable variable through its head or through the encoder; frozen-only losses are logged
  // but cannot move anything.
  const reaches = (k: LossTask): boolean => model.encoder.trainable || model.block(k)?.trainable === true;
  // Nothing to learn from this batch: a zero connected to the variables keeps variableGrads well defined; the
  // update is not applied.
  const nothing = (): tf.Scalar => {
    empty = true;
    return tf.mul(tf.sum(ctx.variables[0]!.variable), 0) as tf.Scalar;
  };
  const vars = ctx.variables.map((v) => v.variable);
  const byKey = (grads: tf.NamedTensorMap): GradientMap => {
    const out: GradientMap = new Map();
    for (const v of ctx.variables) {
      const g = grads[v.variable.name];
      if (g !== undefined && !empty) out.set(v.key, g);
      else if (g !== undefined) g.dispose();
    }
    return out;
  };

  try {
    const groups = new Map<GradientGroup, GradientMap>();
    let total: number;
    if (!weighting.needsTaskGradients) {
      const { value, grads } = tf.variableGrads(() => {
        const losses = taskLosses();
        return (Object.keys(losses) as LossTask[]).some(reaches) ? weighting.combine(losses) : nothing();
      }, vars);
      total = value.dataSync()[0]!;
      value.dispose();
      const g = byKey(grads);
      if (!empty) groups.set('combined', g);
    } else {
      perTaskGradients(ctx, taskLosses, reaches, nothing, () => cache.clear(), vars, byKey, groups);
      total = Object.keys(kept).length === 0 ? 0 : valueOf(weighting.combine(kept));
    }
    const losses: Partial<Record<LossTask, number>> = {};
    for (const [k, v] of Object.entries(kept) as [LossTask, tf.Scalar][]) losses[k] = v.dataSync()[0]!;
    return { grads: groups, losses, total, empty, routed };
  } finally {
    tf.dispose(Object.values(kept) as tf.Tensor[]);
    cache.clear();
    images.dispose();
  }
}

/**
 * Each task loss's gradient, one forward and backward pass per task that reaches a trainable variable (tfjs records
 * a tape per gradient call, so the forward pass is not shared between them). BatchNorm moving statistics move in
 * every training-mode pass: after the first pass they are saved, and restored after each later one, so they move
 * once, as on the combined-loss path. The encoder cache is cleared between passes: features from an earlier pass
 * are not on the current tape.
 */
function perTaskGradients(
  ctx: StepContext,
  taskLosses: () => Partial<Record<LossTask, tf.Scalar>>,
  reaches: (k: LossTask) => boolean,
  nothing: () => tf.Scalar,
  clearCache: () => void,
  vars: tf.Variable[],
  byKey: (grads: tf.NamedTensorMap) => GradientMap,
  groups: Map<GradientGroup, GradientMap>,
): void {
  // The tasks whose losses reach a trainable variable, known after the first forward pass.
  const todo: { tasks: LossTask[] | null } = { tasks: null };
  let saved: { variable: tf.LayerVariable; value: tf.Tensor }[] | null = null;
  try {
    for (let i = 0; todo.tasks === null || i < todo.tasks.length; i++) {
      clearCache();
      const { value, grads } = tf.variableGrads(() => {
        const losses = taskLosses();
        todo.tasks ??= (Object.keys(losses) as LossTask[]).filter(reaches);
        const task = todo.tasks[i];
        // A copy: the loss itself may be the one kept for the log, and variableGrads hands back what f returns.
        return task === undefined ? nothing() : (tf.clone(losses[task]!) as tf.Scalar);
      }, vars);
      value.dispose();
      const g = byKey(grads);
      const task = todo.tasks?.[i];
      if (task === undefined) return;
      groups.set(task, g);
      if (i === 0 && todo.tasks!.length > 1) saved = trainingState(ctx.model);
      else if (saved !== null) for (const s of saved) s.variable.write(s.value);
    }
  } finally {
    if (saved !== null) tf.dispose(saved.map((s) => s.value));
  }
}

/** The value of a scalar, which is disposed. */
function valueOf(t: tf.Scalar): number {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

/**
 * Copies of the weights a training-mode forward pass moves: the non-trainable weights (BatchNorm moving statistics)
 * of the trainable blocks. Frozen blocks run in inference mode and move nothing.
 */
function trainingState(model: MultiCheXNet): { variable: tf.LayerVariable; value: tf.Tensor }[] {
  return model.blocks().flatMap(([, block]) => {
    if (!block.trainable) return [];
    const trainable = new Set(block.trainableWeights);
    return block.weights
      .filter((w) => !trainable.has(w))
      .map((variable) => ({ variable, value: tf.clone(variable.read()) }));
  });
}
