import { z } from '@multichexnet/core';
import { SplitConfigSchema } from '@multichexnet/data';
import { PLAN_SIZES } from '../plan/builtin-plans';

/** The model variants the tables compare. */
export const VARIANTS = ['single-cls', 'single-det', 'single-seg', 'bigbang', 'multichexnet-joint', 'multichexnet-alternating'] as const;
/** One of {@link VARIANTS}. */
export type Variant = (typeof VARIANTS)[number];

/**
 * Options of the Table 1 / Table 2 experiments. Without `data` the experiment writes synthetic NIH, RSNA and SIIM
 * sets with `synthesize()` into `<out>/data` (once: a later run reuses them).
 */
export const ExperimentConfigSchema = z
  .object({
    /** Experiment folder: data/, one run folder per variant, table1.{json,md}, table2.{json,md}. */
    out: z.string().min(1),
    /** Plan size of every variant. */
    size: z.enum(PLAN_SIZES).default('tiny'),
    /** Seed of the data, of every plan and of the random baselines. */
    seed: z.number().int().nonnegative().max(2 ** 32 - 1).default(0),
    /** Images per synthetic dataset (ignored when data is given). */
    synthetic: z
      .object({
        nih: z.number().int().positive().default(1000),
        rsna: z.number().int().positive().default(600),
        siim: z.number().int().positive().default(600),
      })
      .strict()
      .prefault({}),
    /** Patient-level split of every dataset. */
    split: SplitConfigSchema.prefault({ fractions: { train: 0.7, val: 0.1, test: 0.2 } }),
    /** Step counts of every phase multiplied by this (0.05 for a smoke test). */
    stepScale: z.number().gt(0).max(10).default(1),
    /** Batch size override of every phase. */
    batchSize: z.number().int().positive().optional(),
    /** Variants to train (default all). */
    variants: z.array(z.enum(VARIANTS)).min(1).default([...VARIANTS]),
  })
  .strict();
/** What users pass. */
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;
/** The resolved experiment config. */
export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;
