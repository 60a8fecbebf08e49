import { scaleProbability, unscaleProbability, z } from '@multichexnet/core';
import type { ModelMetadata } from '../model/metadata';
import type { DecodedOutputs } from './decode-outputs';

/*
 * Calibrated probabilities: the temperatures a trainer fitted on validation data (per class for CheXCls, one for
 * CheXDet's box scores, one for CheXSeg's pixels) are recorded in `metadata.temperature`, and the runtime applies
 * them to what the graph returns, p' = sigmoid(logit(p) / T). Decisions do not move: the thresholds the model
 * recorded were chosen on the raw scale and are compared there; thresholds a caller passes (det score, seg mask)
 * are on the calibrated scale and are mapped back onto the raw one. The gate stays a raw decision score.
 */

/** `metadata.temperature`: temperatures fitted on validation data, and on how many samples. */
export const TemperatureSpecSchema = z
  .object({
    /** CheXCls, per class name. */
    cls: z.record(z.string(), z.number().positive()).default({}),
    /** CheXDet box scores. */
    det: z.number().positive().optional(),
    /** CheXSeg pixel probabilities. */
    seg: z.number().positive().optional(),
    /** Where they were fitted (`val`: the run's validation split) and on how many labelled samples per head. */
    fittedOn: z.object({ split: z.string().min(1), cls: z.number().int().nonnegative().optional(), det: z.number().int().nonnegative().optional(), seg: z.number().int().nonnegative().optional() }).strict(),
  })
  .strict();
export type TemperatureSpec = z.output<typeof TemperatureSpecSchema>;
export type TemperatureSpecInput = z.input<typeof TemperatureSpecSchema>;

/** Whether a result's probabilities are calibrated, and with what. */
export interface ProbabilityCalibration {
  calibrated: boolean;
  /** `temperature scaling on val` when calibrated. */
  method?: string;
}

/** The calibration state a model's results carry. */
export function calibrationOf(metadata: ModelMetadata): ProbabilityCalibration {
  const t = metadata.temperature;
  return t === null ? { calibrated: false } : { calibrated: true, method: `temperature scaling on ${t.fittedOn.split}` };
}

/**
 * A caller's det score / seg mask threshold, given on the calibrated scale, mapped onto the graph's raw scale.
 * Not exported from the package.
 */
export function rawThreshold(metadata: ModelMetadata, head: 'det' | 'seg', threshold: number | undefined): number | undefined {
  const T = metadata.temperature?.[head];
  return threshold === undefined || T === undefined ? threshold : unscaleProbability(threshold, T);
}

/**
 * The decoded result with calibrated class probabilities and box scores (decisions already taken on the raw scale
 * stay as they are). Not exported from the package: decodeOutputs applies it.
 */
export function applyTemperatures(result: DecodedOutputs, metadata: ModelMetadata): DecodedOutputs {
  const t = metadata.temperature;
  if (t === null) return result;
  const probabilities: Record<string, number> = {};
  for (const [c, p] of Object.entries(result.probabilities)) probabilities[c] = scaleProbability(p, t.cls[c] ?? 1);
  const boxes = t.det === undefined ? result.boxes : result.boxes.map((b) => ({ ...b, score: scaleProbability(b.score, t.det!) }));
  return { ...result, probabilities, boxes };
}
