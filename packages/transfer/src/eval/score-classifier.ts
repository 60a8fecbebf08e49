import { DataError, tf } from '@multichexnet/core';
import type { Dataset } from '@multichexnet/data';
import { clsTask } from '@multichexnet/head-cls';
import type { MultiCheXNet } from '@multichexnet/model';
import { evaluationBatches, type EvalPassOptions } from '@multichexnet/trainer';
import { transferLabels } from '../data/transfer-labels';

/** Per-image truths and probabilities of a classifier on one dataset. */
export interface ClsScores {
  /** The cls head's classes, column order of `labels` and `scores`. */
  classes: string[];
  /** Labels [N][C] (1 / 0 / NaN = not annotated). */
  labels: Float32Array[];
  /** Sigmoid probabilities [N][C]. */
  scores: Float32Array[];
  /** Sample ids, in row order. */
  ids: string[];
}

/** Options of {@link scoreClassifier}. */
/** How the images are read: the trainer's evaluation pass (in order, no augmentation, the plan's preprocessing). */
export type ScoreOptions = EvalPassOptions;

/**
 * Runs the classification path (encoder, cls head, sigmoid) of a model over a dataset, in order, with the labels
 * of the head's classes (`transferLabels`: harmonised pathologies or COVID `finding` levels).
 *
 * @example
 * const s = await scoreClassifier(model, covid.test, { imageSize: 128 });   // s.scores[i][0] = P(COVID-19)
 */
export async function scoreClassifier(
  model: MultiCheXNet,
  dataset: Dataset,
  options: ScoreOptions,
): Promise<ClsScores> {
  const cls = model.headOf(clsTask);
  if (cls === undefined)
    throw new DataError('The model has no classification head', {
      field: 'heads.cls',
      expected: 'a cls head',
      found: 'none',
    });
  const classes = [...cls.config.classes];
  const byId = new Map(dataset.entries.map((e) => [e.id, e]));
  const stream = evaluationBatches(dataset, options);
  const out: ClsScores = { classes, labels: [], scores: [], ids: [] };
  const C = classes.length;
  for await (const batch of stream) {
    const B = batch.size;
    const S = batch.imageSize;
    const probs = tf.tidy(() => {
      const x = tf.tensor4d(batch.images, [B, S, S, 1]);
      return tf.sigmoid(cls.apply(model.encoder.apply(x)));
    });
    const p = (await probs.data()) as Float32Array;
    probs.dispose();
    for (let b = 0; b < B; b++) {
      const id = batch.ids[b]!;
      out.ids.push(id);
      out.labels.push(transferLabels(byId.get(id)!, classes));
      out.scores.push(p.slice(b * C, (b + 1) * C));
    }
  }
  return out;
}
