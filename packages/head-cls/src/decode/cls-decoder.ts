import { DataError, defineTaskDecoder, probabilityRule, readRow, resolveSettings } from '@multichexnet/core/base';

/** One image's decoded classification. */
export interface ClsPrediction {
  /** Sigmoid probability of each class, by class name. */
  probabilities: Record<string, number>;
  /**
   * Classes whose probability reaches their decision threshold, in class order; absent without thresholds.
   */
  findings?: string[];
}

/** Decision settings of the classification decoder. */
export interface ClsDecodeSettings {
  /** Class names of the probabilities, in output order. */
  classes: string[];
  /** Per-class decision thresholds (e.g. chosen for F1 on validation data); a finding is positive at p >= threshold. */
  thresholds?: Record<string, number>;
}

/** Name of the classification output: [B, C] sigmoid probabilities. */
export const CLS_PROBS_OUTPUT = 'cls_probs';

const thresholdsRule = {
  expected: 'an object of class name -> probability in [0, 1]',
  check: (v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((t) => probabilityRule.check(t)),
};
const classesRule = {
  expected: 'an array of class names',
  check: (v: unknown) => Array.isArray(v) && v.every((c) => typeof c === 'string'),
};

/**
 * Decodes `cls_probs` [B, C] (sigmoid probabilities) into `{ probabilities, findings? }` by class name. Plain arrays
 * only (no tfjs): what the ONNX runtime and `ClsHead.decode` both use.
 *
 * @example
 * const s = clsDecoder.settings({ classes: ['Pneumonia'], thresholds: { Pneumonia: 0.3 } });
 * clsDecoder.decode({ cls_probs: { data: Float32Array.of(0.42), dims: [1, 1] } }, { index: 0, settings: s, image });
 * // { probabilities: { Pneumonia: 0.42 }, findings: ['Pneumonia'] }
 */
export const clsDecoder = defineTaskDecoder<ClsPrediction, ClsDecodeSettings>({
  task: 'cls',
  reads: [CLS_PROBS_OUTPUT],
  routed: false,
  fields: ['probabilities', 'findings'],
  settings(recorded, overrides, context) {
    const defaults: ClsDecodeSettings = { classes: [...(context?.classNames ?? [])] };
    const s = resolveSettings<ClsDecodeSettings>('cls', defaults, recorded, overrides, {
      classes: classesRule,
      thresholds: thresholdsRule,
    });
    const unknown = Object.keys(s.thresholds ?? {}).filter((c) => !s.classes.includes(c));
    if (unknown.length > 0) {
      throw new DataError('Decode thresholds name a class the cls head does not have', {
        field: 'cls.thresholds',
        expected: `classes among ${s.classes.join(', ')}`,
        found: unknown.join(', '),
      });
    }
    return s;
  },
  decode(outputs, { index, settings }) {
    const probs = readRow(outputs, CLS_PROBS_OUTPUT, index);
    const probabilities: Record<string, number> = {};
    for (let k = 0; k < probs.length; k++) probabilities[settings.classes[k] ?? `class_${k}`] = probs[k]!;
    const t = settings.thresholds;
    if (t === undefined) return { probabilities };
    return {
      probabilities,
      findings: Object.keys(probabilities).filter((c) => t[c] !== undefined && probabilities[c]! >= t[c]!),
    };
  },
  empty: () => ({ probabilities: {} }),
  // one temperature per class; each class's decision threshold is a probability
  calibration: {
    per: 'class',
    output: CLS_PROBS_OUTPUT,
    classes: (s) => s.classes,
    scaleSettings: (s, scale) =>
      s.thresholds === undefined
        ? s
        : { ...s, thresholds: Object.fromEntries(Object.entries(s.thresholds).map(([c, t]) => [c, scale(t, c)])) },
  },
});
