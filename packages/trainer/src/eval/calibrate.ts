import type { MultiCheXNet } from '@multichexnet/model';
import type { DecisionSettings, EvalRaw } from './evaluate';

/**
 * Decision settings chosen on validation data and applied unchanged to the test set and the exported model, by task
 * (`{ cls: { thresholds }, det: { scoreThreshold }, seg: { minArea } }` for the built-in heads).
 */
export type Calibration = Record<string, Record<string, unknown>>;

/**
 * Chooses the decision settings of each task on validation records (`EvalResult.raw` of a validation evaluation), by
 * its spec: per-class F1 thresholds of CheXCls, the box score threshold with the best RSNA mAP, the minimum mask area
 * with the best SIIM Dice (ties: the first candidate). RSNA and SIIM entrants tuned exactly these on held-out data.
 * Tasks without records, or whose spec chooses nothing, are left out.
 *
 * @example
 * const cal = calibrate((await evaluate(model, valSets, opts)).raw, model);
 * const test = await evaluate(model, testSets, { ...opts, settings: cal });
 */
export function calibrate(raw: EvalRaw, model: MultiCheXNet): Calibration {
  const out: Calibration = {};
  for (const spec of model.taskSpecs) {
    const records = raw.tasks[spec.name] ?? [];
    if (records.length === 0 || spec.evaluation.calibrate === undefined) continue;
    const chosen = spec.evaluation.calibrate(records, model.heads[spec.name]) as Record<string, unknown>;
    if (Object.keys(chosen).length > 0) out[spec.name] = chosen;
  }
  return out satisfies DecisionSettings;
}
