import { CHESTXRAY14_CLASSES, DataError } from '@multichexnet/core';

/**
 * The harmonised pathology list shared by every loader: the 14 ChestX-ray14 labels in the canonical CheXNet
 * order, then `COVID-19` (the transfer-learning target). A label vector is a Float32Array over this list with
 * 1 = present, 0 = absent, NaN = this dataset does not annotate the class (masked out of the loss).
 *
 * Which dataset annotates what:
 * - NIH: the 14 classes; COVID-19 NaN.
 * - RSNA: Pneumonia (= Target); the rest NaN.
 * - SIIM: Pneumothorax (= non-empty mask); the rest NaN.
 * - COVID-19 collection: COVID-19 and Pneumonia (from the `finding` hierarchy); the rest NaN.
 *
 * No other class is added: the other datasets' labels either map onto these (RSNA Lung Opacity → Pneumonia)
 * or are too rare to train a head on (the COVID collection's SARS, MERS, ... stay in `meta.finding`).
 */
export const PATHOLOGIES = [...CHESTXRAY14_CLASSES, 'COVID-19'] as const;

/** One harmonised pathology name. */
export type Pathology = (typeof PATHOLOGIES)[number];

const INDEX: ReadonlyMap<string, number> = new Map(PATHOLOGIES.map((p, i) => [p, i]));

/** Position of a pathology in {@link PATHOLOGIES}, or -1. */
export function pathologyIndex(name: string): number {
  return INDEX.get(name) ?? -1;
}

/** True when `name` is one of {@link PATHOLOGIES} (exact spelling). */
export function isPathology(name: string): name is Pathology {
  return INDEX.has(name);
}

/**
 * Labels [C] over {@link PATHOLOGIES}, NaN everywhere except the given classes.
 *
 * @example
 * harmoniseLabels({ Pneumonia: 1 }); // Float32Array(15) [NaN, ..., 1 (index 6), ..., NaN]
 */
export function harmoniseLabels(known: Partial<Record<Pathology, number>>): Float32Array {
  const out = new Float32Array(PATHOLOGIES.length).fill(Number.NaN);
  for (const [name, value] of Object.entries(known)) {
    const i = INDEX.get(name);
    if (i === undefined) {
      throw new DataError('Unknown pathology', {
        field: 'labels',
        expected: `one of ${PATHOLOGIES.join(', ')}`,
        found: JSON.stringify(name),
      });
    }
    out[i] = value as number;
  }
  return out;
}

/**
 * Labels [C_from] → labels [C_to]: picks the classes a head trains on, NaN for classes absent from `from`.
 *
 * @example
 * const cls14 = selectClasses(sample.labels, PATHOLOGIES, CHESTXRAY14_CLASSES); // Float32Array(14)
 */
export function selectClasses(labels: Float32Array, from: readonly string[], to: readonly string[]): Float32Array {
  const out = new Float32Array(to.length);
  const where = new Map(from.map((c, i) => [c, i]));
  for (let j = 0; j < to.length; j++) {
    const i = where.get(to[j] as string);
    out[j] = i === undefined ? Number.NaN : (labels[i] as number);
  }
  return out;
}
