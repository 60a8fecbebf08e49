import { DataError } from '@multichexnet/core';
import {
  openNih,
  openRsna,
  openSiim,
  splitByPatient,
  type BadSamplePolicy,
  type Dataset,
  type ImageDecoder,
  type SplitConfig,
} from '@multichexnet/data';
import type { PlanSource } from '../plan/plan-schema';

/** Train / val / test views of one dataset (patient-level split). */
export interface SourceSplits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
}

/** The datasets a run draws from, by plan source name. */
export type TrainingData = Partial<Record<PlanSource, SourceSplits>>;

/** Dataset folders to open. */
export interface DatasetRoots {
  nih?: string;
  rsna?: string;
  siim?: string;
}

/**
 * Opens the datasets found under the given roots (NIH ChestX-ray14, RSNA Pneumonia, SIIM-ACR, real or synthetic:
 * the same loaders read both) and splits each by patient with `split`. `onBadSample` (default 'fail') is the
 * loaders' policy for bad label rows and images: 'skip' counts them ({@link dataHealth}) and goes on.
 *
 * @example
 * const data = await openTrainingData({ nih: 'data/nih', rsna: 'data/rsna', siim: 'data/siim' }, { fractions: { train: 0.7, val: 0.1, test: 0.2 }, seed: 1 });
 */
export async function openTrainingData(
  roots: DatasetRoots,
  split: SplitConfig = {},
  options: { decoder?: ImageDecoder; onBadSample?: BadSamplePolicy } = {},
): Promise<TrainingData> {
  const out: TrainingData = {};
  const extra = {
    ...(options.decoder !== undefined ? { decoder: options.decoder } : {}),
    ...(options.onBadSample !== undefined ? { onBadSample: options.onBadSample } : {}),
  };
  if (roots.nih !== undefined) out.nih = splitByPatient(await openNih({ root: roots.nih, ...extra }), split);
  if (roots.rsna !== undefined) out.rsna = splitByPatient(await openRsna({ root: roots.rsna, ...extra }), split);
  if (roots.siim !== undefined) out.siim = splitByPatient(await openSiim({ root: roots.siim, ...extra }), split);
  return out;
}

/** The split of one source, or a DataError naming what the plan needs. */
export function requireSource(data: TrainingData, source: PlanSource, split: keyof SourceSplits, why: string): Dataset {
  const s = data[source];
  if (s === undefined) {
    throw new DataError(`The plan needs the ${source} dataset (${why})`, {
      field: `data.${source}`,
      expected: `${source} train/val/test splits`,
      found: `only ${Object.keys(data).join(', ') || 'none'}`,
    });
  }
  return s[split];
}
