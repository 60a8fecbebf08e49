import type { PreprocessConfigInput, SampleCache } from '@multichexnet/data';
import { chooseThreshold, type ThresholdChoice } from '@multichexnet/gating';
import { GATE_BLOCK, type MultiCheXNet } from '@multichexnet/model';
import type { TrainingData } from '../data/training-data';
import { PLAN_SOURCES, type PlanSource } from '../plan/plan-schema';
import { evaluate, gateSources, type EvalSets } from './evaluate';

/** Options of {@link fitGateThreshold}. */
export interface GateThresholdOptions {
  /** Network input side (the plan's imageSize). */
  imageSize: number;
  preprocess?: Omit<PreprocessConfigInput, 'size'>;
  /** The sensitivity the threshold must reach on validation data (the plan's `gateSensitivity`). */
  targetSensitivity: number;
  cache?: SampleCache;
  /** Labels that define a gate positive (default: as {@link evaluate}). */
  gateClasses?: readonly string[];
}

/**
 * Sets the gate's threshold as training does: the largest reaching `targetSensitivity` on the validation splits of
 * the routed tasks' sources. Returns the choice, or null (threshold unchanged) for a model without a gate, without
 * such validation images, or without a gate positive among them.
 *
 * @example
 * const choice = await fitGateThreshold(model, data, { imageSize: plan.imageSize, targetSensitivity: plan.gateSensitivity });
 */
export async function fitGateThreshold(
  model: MultiCheXNet,
  data: TrainingData,
  options: GateThresholdOptions,
): Promise<ThresholdChoice | null> {
  if (model.gate === null) return null;
  const val: EvalSets = {};
  for (const s of gateSources(
    model,
    PLAN_SOURCES.filter((x) => data[x] !== undefined),
  ))
    val[s] = data[s]!.val;
  if (Object.keys(val).length === 0) return null;
  const onlyGate = {
    ...Object.fromEntries(model.tasks.map((t) => [t, []])),
    [GATE_BLOCK]: Object.keys(val) as PlanSource[],
  };
  const r = await evaluate(model, val, {
    imageSize: options.imageSize,
    gating: 'none',
    sources: onlyGate,
    ...(options.preprocess !== undefined ? { preprocess: options.preprocess } : {}),
    ...(options.cache !== undefined ? { cache: options.cache } : {}),
    ...(options.gateClasses !== undefined ? { gateClasses: options.gateClasses } : {}),
  });
  if (!r.raw.gate.labels.includes(1)) return null;
  const choice = chooseThreshold(r.raw.gate.scores, r.raw.gate.labels, {
    targetSensitivity: options.targetSensitivity,
  });
  model.gate.setThreshold(choice.threshold);
  return choice;
}
