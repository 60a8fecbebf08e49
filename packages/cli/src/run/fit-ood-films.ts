import { tf } from '@multichexnet/core';
import { preprocessImage, type PreprocessConfigInput } from '@multichexnet/data';
import type { MultiCheXNet } from '@multichexnet/model';
import { DEFAULT_OOD_LEVELS, pooledFeatures } from '@multichexnet/trainer';
import { UsageError } from '../cli-error';
import { listImageFiles, readImageFile } from '../io/image-files';
import type { Reporter } from '../io/progress';
import { oodOfRows, type RunOod } from './fit-probability';

/** Every n-th film (the n-1-th of each n) chooses the threshold; the others are fitted on. */
const THRESHOLD_EVERY = 5;
const BATCH = 8;

/**
 * OOD statistics for a model without training splits (an imported checkpoint): fitted on frontal chest films the
 * user names (files or folders), every fifth of them (in sorted order) held out to choose the threshold. The films
 * are preprocessed exactly as the exported model will preprocess them.
 *
 * @example
 * const ood = await fitOodOnFilms(model, { size: 224 }, ['my-frontal-films/'], 0.02, reporter);
 */
export async function fitOodOnFilms(
  model: MultiCheXNet,
  preprocess: PreprocessConfigInput & { size: number },
  inputs: string[],
  target: number,
  reporter: Reporter,
): Promise<RunOod> {
  const files = await listImageFiles(inputs);
  if (files.length < 2 * THRESHOLD_EVERY)
    throw new UsageError(
      `--ood-films: ${files.length} film(s) found; give at least ${2 * THRESHOLD_EVERY} frontal chest films (a few hundred are better)`,
    );
  const S = preprocess.size;
  const C = model.encoder.config.inputChannels;
  const fit: Float32Array[] = [];
  const held: Float32Array[] = [];
  const task = reporter.task('fit OOD statistics (films)', files.length, 'images');
  for (let i = 0; i < files.length; i += BATCH) {
    const chunk = files.slice(i, i + BATCH);
    const batch = new Float32Array(chunk.length * S * S * C);
    for (let k = 0; k < chunk.length; k++) {
      const { image } = await readImageFile(chunk[k]!);
      const { input } = preprocessImage(image, preprocess);
      const per = S * S * C;
      // a grey input for a wider image input is repeated across its channels, as the runtime pipeline does
      if (input.length === per) batch.set(input, k * per);
      else for (let p = 0; p < S * S; p++) batch.fill(input[p]!, k * per + p * C, k * per + (p + 1) * C);
    }
    const rows = tf.tidy(() => {
      const features = model.encoder.apply(tf.tensor4d(batch, [chunk.length, S, S, C]));
      return pooledFeatures(features, DEFAULT_OOD_LEVELS);
    });
    const data = (await rows.data()) as Float32Array;
    const D = rows.shape[1];
    rows.dispose();
    for (let k = 0; k < chunk.length; k++)
      ((i + k) % THRESHOLD_EVERY === THRESHOLD_EVERY - 1 ? held : fit).push(data.slice(k * D, (k + 1) * D));
    task.update(Math.min(files.length, i + BATCH));
  }
  task.finish();
  return oodOfRows(fit, held, target, { fittedOn: 'films', thresholdOn: 'films' });
}
