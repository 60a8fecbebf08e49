import { auroc, defineTaskSpec, taskHead, formatMetric, tf, type LabelBatch } from '@multichexnet/core';
import { COVID_HEAD_CLASS_NAME, createCovidHead, type CovidHead } from './covid-head';
import {
  COVID_PROB_OUTPUT,
  covidDecoder,
  type CovidDecodeSettings,
  type CovidPrediction,
} from './decode/covid-decoder';

/** The target of one image: 1 (COVID-19), 0 (not). */
export type CovidTarget = number;

/** One image's evaluation record: its label and the predicted probability. */
export interface CovidRecord {
  label: number;
  probability: number;
}

/** COVID-19 metrics of a set of images. */
export interface CovidMetrics {
  /** AUROC of the probability (NaN without both classes). */
  auroc: number;
  /** Share of images called right at `threshold`. */
  accuracy: number;
  threshold: number;
  images: number;
  positives: number;
}

/** The label column CheXCovid learns from (`@multichexnet/data`'s harmonised pathology name). */
export const COVID_CLASS = 'COVID-19';

function targetsOf(batch: LabelBatch): (CovidTarget | null)[] {
  const column = batch.classes.indexOf(COVID_CLASS);
  const C = batch.classes.length;
  return Array.from({ length: batch.size }, (_, b) => {
    const v = column < 0 ? Number.NaN : batch.labels[b * C + column]!;
    return Number.isNaN(v) ? null : v;
  });
}

/**
 * CheXCovid in the task table: a binary COVID-19 classifier on the shared encoder's c5 features, unrouted (it runs on
 * every image, beside CheXCls), trained with BCE on the `COVID-19` label column, exported as `covid_prob` [B, 1],
 * scored by AUROC. Everything a model, a plan, the trainer, the evaluation, the exporter and the runtime need of the
 * task is here: pass the spec as `tasks: [covidTask]` (and its decoder to the runtime).
 *
 * @example
 * const model = createMultiCheXNet({ encoder, heads: { covid: covidTask.createHead({}, encoder.featureChannels) }, tasks: [covidTask] });
 */
export const covidTask = defineTaskSpec<
  CovidHead,
  CovidTarget,
  CovidPrediction,
  CovidDecodeSettings,
  CovidMetrics,
  CovidRecord
>({
  name: 'covid',
  title: 'CheXCovid',
  ...taskHead(COVID_HEAD_CLASS_NAME, createCovidHead),
  defaultSource: { name: 'covid', fallback: 'none' },
  outputs: [{ name: COVID_PROB_OUTPUT, activation: 'sigmoid', description: '[B, 1] sigmoid probability of COVID-19' }],
  decoder: covidDecoder,
  decodeSettings: () => ({ threshold: 0.5 }),
  targets: {
    fromBatch: (batch) => targetsOf(batch),
    isPositive: (target) => target === 1,
    empty: () => 0,
  },
  loss: (head, output, targets) => head.loss(tf.tensor1d(targets.map((t) => t ?? Number.NaN)), output as tf.Tensor2D),
  evaluation: {
    primary: 'auroc',
    logged: ['auroc', 'accuracy'],
    record: (label, prediction) => ({ label, probability: prediction.covid.probability }),
    metrics: (records, settings) => ({
      auroc: auroc(
        records.map((r) => r.label),
        records.map((r) => r.probability),
      ),
      accuracy:
        records.length === 0
          ? Number.NaN
          : records.filter((r) => (r.probability >= settings.threshold ? 1 : 0) === r.label).length / records.length,
      threshold: settings.threshold,
      images: records.length,
      positives: records.filter((r) => r.label === 1).length,
    }),
    headline: (m) => [
      {
        label: 'CheXCovid AUROC',
        value: m.auroc,
        detail: `accuracy ${formatMetric(m.accuracy)} at ${m.threshold}, ${m.images} images`,
      },
    ],
    describeSettings: (s) => (s.threshold === undefined ? [] : [`COVID-19 at p >= ${s.threshold}`]),
  },
});
