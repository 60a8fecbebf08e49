import { scaleProbability, unscaleProbability, z, type ScoredBox } from '@multichexnet/core';
import type { DecodeSpec, ModelMetadata } from '../model/metadata';

/*
 * Calibrated probabilities: the temperatures a trainer fitted on validation data (per class for CheXCls, one for
 * CheXDet's box scores, one for CheXSeg's pixels) are recorded in `metadata.temperature`, and the runtime applies
 * them to what the graph returns, p' = sigmoid(logit(p) / T). Decisions do not move: the export records the
 * decision thresholds (chosen on validation on the raw scale) mapped through the temperatures, so recorded and
 * caller thresholds (cls findings, det score, seg mask) are on the calibrated scale; the det / seg ones are mapped
 * back onto the graph's raw scores. The gate stays a raw decision score.
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

/** Calibrates class probabilities in place (a model without temperatures leaves them). Not exported from the package. */
export function calibrateProbabilities(probabilities: Record<string, number>, metadata: ModelMetadata): void {
  const t = metadata.temperature;
  if (t === null) return;
  for (const c of Object.keys(probabilities)) probabilities[c] = scaleProbability(probabilities[c]!, t.cls[c] ?? 1);
}

/** Boxes with calibrated scores (same boxes, same order). Not exported from the package. */
export function calibrateBoxes(boxes: ScoredBox[], metadata: ModelMetadata): ScoredBox[] {
  const T = metadata.temperature?.det;
  return T === undefined ? boxes : boxes.map((b) => ({ ...b, score: scaleProbability(b.score, T) }));
}

/**
 * The decoding settings on the calibrated scale: a model exported with temperatures records its decision thresholds
 * (chosen on validation on the raw scale) mapped through them, so a recorded threshold applies to the probabilities
 * the runtime reports. The decisions are the same. Not exported from the package.
 */
export function calibratedDecode(decode: DecodeSpec, t: TemperatureSpec | undefined): DecodeSpec {
  if (t === undefined) return decode;
  return {
    det: decode.det === null ? null : { ...decode.det, scoreThreshold: scaleProbability(decode.det.scoreThreshold, t.det ?? 1) },
    seg: decode.seg === null ? null : { ...decode.seg, threshold: scaleProbability(decode.seg.threshold, t.seg ?? 1) },
    ...(decode.cls ? { cls: { thresholds: Object.fromEntries(Object.entries(decode.cls.thresholds).map(([c, v]) => [c, scaleProbability(v, t.cls[c] ?? 1)])) } } : {}),
  };
}
