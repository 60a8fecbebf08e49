import { DataError } from '@multichexnet/core';
import { pathologyIndex, type Dataset, type SampleEntry } from '@multichexnet/data';

/**
 * Labels [C'] of one sample for the new classes. A class of the harmonised list (`COVID-19`, `Pneumonia`, the 14
 * ChestX-ray14 labels) takes the loader's label (NaN where the dataset does not annotate it: COVID collection
 * `Pneumonia` is NaN for Tuberculosis or ARDS). Any other name is looked up in the COVID collection's `finding`
 * hierarchy (`Pneumonia/Viral/SARS` -> Pneumonia, Viral, SARS): 1 when it is a level of the sample's finding,
 * 0 otherwise, NaN for a sample without a finding (another dataset).
 *
 * @example
 * transferLabels(entry, ['COVID-19', 'Viral']);   // Float32Array [1, 1] for Pneumonia/Viral/COVID-19
 */
export function transferLabels(entry: SampleEntry, classes: readonly string[]): Float32Array {
  const out = new Float32Array(classes.length);
  classes.forEach((c, j) => {
    const i = pathologyIndex(c);
    if (i >= 0) out[j] = entry.labels[i]!;
    else out[j] = entry.meta.finding === undefined ? Number.NaN : entry.meta.finding.includes(c) ? 1 : 0;
  });
  return out;
}

/** Label rows [N][C'] of every sample of a dataset, in order. */
export function datasetLabels(dataset: Dataset, classes: readonly string[]): Float32Array[] {
  return dataset.entries.map((e) => transferLabels(e, classes));
}

/**
 * Checks that every new class can be learned from the training set: at least one positive and one negative
 * label. A class that is never positive is usually a misspelled finding (`Covid-19` for `COVID-19`).
 */
export function checkClassesLearnable(labels: readonly Float32Array[], classes: readonly string[], file: string): void {
  classes.forEach((c, j) => {
    let pos = 0;
    let neg = 0;
    for (const row of labels) {
      const y = row[j]!;
      if (y >= 0.5) pos++;
      else if (y >= 0) neg++;
    }
    if (pos === 0 || neg === 0) {
      throw new DataError('A new class needs positive and negative training samples', {
        file,
        field: `classes.${j} (${c})`,
        expected:
          'at least one positive and one negative label (a harmonised pathology, or a level of the COVID `finding` hierarchy such as Viral, Bacterial, SARS)',
        found: `${pos} positive, ${neg} negative of ${labels.length} training samples`,
      });
    }
  });
}
