import { z } from '@multichexnet/core/base';
import type { ModelMetadata } from '../model/metadata';
import type { TensorData } from '../model/run-model';
import { modelOutput } from './model-output';

/*
 * Out-of-distribution refusal: "this is not a frontal chest X-ray". The exported stage 1 pools the encoder features
 * (GlobalAveragePool of the fitted levels, concatenated: `ood_features` [B, D]) and scores them in the same pass
 * (`ood_score` [B]) against a probabilistic-PCA Gaussian fitted on the training films (@multichexnet/trainer's
 * fitOodStatistics; the export side is @multichexnet/export's pipeline/ood-output.ts): score = (sum_i z_i^2 / lambda_i + |r|^2 / sigma^2) / D with z = U^T (x - mean) and
 * r = (x - mean) - U z. The statistics are graph weights (covered by the model checksum); the metadata records the
 * threshold chosen on validation films and where everything came from. In the graph rather than in JavaScript on a
 * feature output: every consumer (CLI, service, browser demo, a Python user of the ONNX file) gets the same score
 * with no code of its own, and the metadata stays small (the statistics of DenseNet-121 features are megabytes).
 */

/** Name of the graph output holding the OOD score. */
export const OOD_SCORE_OUTPUT = 'ood_score';
/** Name of the graph output holding the pooled features the score reads. */
export const OOD_FEATURES_OUTPUT = 'ood_features';

const LevelSchema = z.enum(['c2', 'c3', 'c4', 'c5']);

/** `metadata.ood`: where the score is, its threshold, and how both were obtained. */
export const OodSpecSchema = z
  .object({
    output: z.literal(OOD_SCORE_OUTPUT),
    method: z.literal('ppca-mahalanobis'),
    levels: z.array(LevelSchema).min(1),
    dimensions: z.number().int().positive(),
    components: z.number().int().nonnegative(),
    threshold: z.number().positive(),
    targetFalseRefusal: z.number().gt(0).lt(1),
    /** Training films the statistics were fitted on. */
    fittedOn: z.number().int().positive(),
    /** Validation films the threshold was chosen on. */
    thresholdOn: z.number().int().positive(),
  })
  .strict();
export type OodSpec = z.output<typeof OodSpecSchema>;

/** One image's OOD verdict. */
export interface OodDecision {
  /** The model's OOD score (about 1 for a typical training film). */
  score: number;
  /** The threshold in force. */
  threshold: number;
  /** `score > threshold`: not like the frontal chest films the model was trained on. */
  outOfDistribution: boolean;
}

/**
 * Image `index`'s OOD verdict from `ood_score`, or null when the model records no OOD statistics. `threshold`
 * overrides the recorded one.
 *
 * @example
 * const verdict = decideOod(outputs, model.metadata, 0);   // { score, threshold, outOfDistribution }
 */
export function decideOod(
  outputs: Record<string, TensorData>,
  metadata: ModelMetadata,
  index: number,
  threshold?: number,
): OodDecision | null {
  const spec = metadata.ood;
  if (spec === null) return null;
  const t = modelOutput(outputs, spec.output, 'metadata.ood');
  const score = t.data[index]!;
  const limit = threshold ?? spec.threshold;
  // NaN (a film of constant pixels normalised to nothing) is no chest film either
  return { score, threshold: limit, outOfDistribution: !(score <= limit) };
}

/**
 * The one-line refusal a user reads, the same in the CLI, the service and the demo.
 *
 * @example
 * oodMessage('knee.png', { score: 9.1, threshold: 2.3, outOfDistribution: true });
 * // 'knee.png: refused: not like the frontal chest X-rays the model was trained on (OOD score 9.10 > threshold 2.30)'
 */
export function oodMessage(file: string, ood: OodDecision): string {
  const f = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  return `${file}: refused: not like the frontal chest X-rays the model was trained on (OOD score ${f(ood.score)} > threshold ${f(ood.threshold)})`;
}
