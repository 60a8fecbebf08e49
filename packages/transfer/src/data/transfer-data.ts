import { DataError } from '@multichexnet/core';
import { openCovid, splitByPatient, type CovidOptions, type Dataset, type SplitConfig } from '@multichexnet/data';

/** The splits fine-tuning reads: train is required; val chooses thresholds; test is reported. */
export interface TransferSplits {
  train: Dataset;
  val?: Dataset;
  test?: Dataset;
}

/**
 * Where fine-tuning data comes from: the root folder of a COVID-19 image data collection (`metadata.csv` +
 * `images/`, opened with `openCovid`: PA / AP / AP Supine X-rays only, split by patient), or splits of any dataset.
 */
export type TransferDataSource = string | TransferSplits;

function isDataset(v: unknown): v is Dataset {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Dataset).get === 'function' &&
    Array.isArray((v as Dataset).entries)
  );
}

/**
 * Opens the data of a fine-tuning run. A string is a COVID collection root: `openCovid` keeps the frontal X-rays
 * (`views` PA, AP, AP Supine by default; laterals, CT rows and volumes are left out) and `splitByPatient` divides
 * it with `split` so no patient is in two splits.
 *
 * @example
 * const { train, val, test } = await openTransferData('data/covid-chestxray-dataset', { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 1 });
 */
export async function openTransferData(
  source: TransferDataSource,
  split: SplitConfig = {},
  covid: Omit<CovidOptions, 'root'> = {},
): Promise<TransferSplits> {
  if (typeof source === 'string') {
    const all = await openCovid({ ...covid, root: source });
    if (all.size === 0) {
      throw new DataError('The COVID collection has no usable frontal X-ray', {
        file: `${source}/metadata.csv`,
        expected: 'PA / AP / AP Supine X-ray rows whose image is present',
        found: '0 images',
      });
    }
    return splitByPatient(all, split);
  }
  if (source === null || typeof source !== 'object' || !isDataset(source.train)) {
    throw new DataError('Fine-tuning data must be a COVID collection folder or { train, val?, test? } datasets', {
      field: 'data',
      expected: 'a folder path or { train: Dataset }',
      found: source === null ? 'null' : typeof source,
    });
  }
  for (const k of ['val', 'test'] as const) {
    if (source[k] !== undefined && !isDataset(source[k]))
      throw new DataError('Fine-tuning split is not a dataset', {
        field: `data.${k}`,
        expected: 'a Dataset',
        found: typeof source[k],
      });
  }
  return source;
}
