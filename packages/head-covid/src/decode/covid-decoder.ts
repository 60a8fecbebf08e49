import { defineTaskDecoder, probabilityRule, readRow, resolveSettings } from '@multichexnet/core/base';

/** Name of CheXCovid's output: [B, 1] sigmoid probability of COVID-19. */
export const COVID_PROB_OUTPUT = 'covid_prob';

/** One image's decoded COVID-19 call. */
export interface CovidPrediction {
  /** The probability and the call at the decision threshold. */
  covid: { probability: number; positive: boolean };
}

/** Decision settings of the COVID-19 decoder. */
export interface CovidDecodeSettings {
  /** An image is COVID-19 positive at probability >= threshold. */
  threshold: number;
}

/**
 * Decodes `covid_prob` [B, 1] into `{ covid: { probability, positive } }`. Plain arrays only (no tfjs): the ONNX
 * runtime and `model.predict` use it alike.
 *
 * @example
 * const s = covidDecoder.settings({ threshold: 0.4 });
 * covidDecoder.decode({ covid_prob: { data: Float32Array.of(0.7), dims: [1, 1] } }, { index: 0, settings: s, image });
 * // { covid: { probability: 0.7, positive: true } }
 */
export const covidDecoder = defineTaskDecoder<CovidPrediction, CovidDecodeSettings>({
  task: 'covid',
  reads: [COVID_PROB_OUTPUT],
  routed: false,
  fields: ['covid'],
  settings: (recorded, overrides) =>
    resolveSettings<CovidDecodeSettings>('covid', { threshold: 0.5 }, recorded, overrides, {
      threshold: probabilityRule,
    }),
  decode(outputs, { index, settings }) {
    const probability = readRow(outputs, COVID_PROB_OUTPUT, index)[0]!;
    return { covid: { probability, positive: probability >= settings.threshold } };
  },
  // An unrouted task runs on every image; an empty call is only asked for by a caller that skipped it.
  empty: () => ({ covid: { probability: 0, positive: false } }),
  // one temperature for the task (what a calibrated export records); the decision threshold is a probability
  calibration: {
    per: 'task',
    output: COVID_PROB_OUTPUT,
    scaleSettings: (s, scale) => ({ ...s, threshold: scale(s.threshold) }),
  },
});
