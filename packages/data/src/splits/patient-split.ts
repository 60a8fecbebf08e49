import { createRng, parseConfig, z } from '@multichexnet/core';
import type { Dataset } from '../datasets/dataset';

/** Options of {@link splitByPatient}. */
export const SplitConfigSchema = z
  .object({
    /** Fractions of patients; they must sum to 1 (within 1e-6). */
    fractions: z
      .object({
        train: z.number().min(0).max(1),
        val: z.number().min(0).max(1),
        test: z.number().min(0).max(1),
      })
      .default({ train: 0.7, val: 0.1, test: 0.2 }),
    seed: z.number().int().default(0),
    /**
     * Honour an official split when the entries carry one (NIH `train_val_list.txt` / `test_list.txt`): the
     * official test set is the test split, and the official train+val patients are divided between train and
     * val in the ratio of the train and val fractions.
     */
    official: z.boolean().default(true),
  })
  .strict()
  .refine((c) => Math.abs(c.fractions.train + c.fractions.val + c.fractions.test - 1) < 1e-6, {
    message: 'fractions.train + fractions.val + fractions.test must be 1',
    path: ['fractions'],
  });

/** What users pass to {@link splitByPatient}. */
export type SplitConfig = z.input<typeof SplitConfigSchema>;

/** The three splits, as views of the input dataset. */
export interface PatientSplits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
}

/**
 * Splits a dataset by patient: all images of a patient land in the same split (no leakage), the assignment is
 * a seeded shuffle of the sorted patient keys (same seed, same split), and fractions are of patients.
 *
 * @example
 * const { train, val, test } = splitByPatient(nih, { fractions: { train: 0.8, val: 0.1, test: 0.1 }, seed: 7 });
 */
export function splitByPatient(dataset: Dataset, config: SplitConfig = {}): PatientSplits {
  const cfg = parseConfig(SplitConfigSchema, config, 'split config');
  const byPatient = new Map<string, number[]>();
  const official = new Map<string, 'trainval' | 'test'>();
  dataset.entries.forEach((e, i) => {
    const key = `${e.source}:${e.patientId}`;
    const list = byPatient.get(key) ?? [];
    list.push(i);
    byPatient.set(key, list);
    const s = e.meta.officialSplit;
    // a patient with any official test image goes to test
    if (cfg.official && s !== undefined && official.get(key) !== 'test') official.set(key, s);
  });
  const keys = [...byPatient.keys()].sort();
  const rng = createRng(cfg.seed);
  const { train: ft, val: fv, test: fs } = cfg.fractions;
  const assign = new Map<string, 'train' | 'val' | 'test'>();

  const testKeys = keys.filter((k) => official.get(k) === 'test');
  const trainValKeys = rng.shuffle(keys.filter((k) => official.get(k) === 'trainval'));
  const freeKeys = rng.shuffle(keys.filter((k) => !official.has(k)));
  for (const k of testKeys) assign.set(k, 'test');
  const nVal = ft + fv > 0 ? Math.round((trainValKeys.length * fv) / (ft + fv)) : 0;
  trainValKeys.forEach((k, i) => assign.set(k, i < nVal ? 'val' : 'train'));
  const nTest = Math.round(freeKeys.length * fs);
  const nValFree = Math.round(freeKeys.length * fv);
  freeKeys.forEach((k, i) => assign.set(k, i < nTest ? 'test' : i < nTest + nValFree ? 'val' : 'train'));

  const parts: Record<'train' | 'val' | 'test', number[]> = { train: [], val: [], test: [] };
  for (const k of keys) parts[assign.get(k) as 'train' | 'val' | 'test'].push(...(byPatient.get(k) as number[]));
  for (const p of Object.values(parts)) p.sort((a, b) => a - b);
  return { train: dataset.subset(parts.train), val: dataset.subset(parts.val), test: dataset.subset(parts.test) };
}
