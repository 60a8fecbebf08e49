import { z, SeedSchema } from '@multichexnet/core';
import { SplitConfigSchema } from '@multichexnet/data';
import { LossWeightingConfigSchema, PLAN_SIZES } from '@multichexnet/trainer';

/**
 * The model variants the tables compare: the ungated single-task baselines; the paper's baselines, which are the
 * pre-training stages of Algorithm 1 read off the MultiCheXNet pre-training run (stage 1: CheXCls on NIH; stage 2:
 * then CheXDet on RSNA; stage 3: then CheXSeg on SIIM), gated like MultiCheXNet; BigBang; MultiCheXNet with joint
 * or alternating MTL; and the joint MTL ablations with GradNorm and PCGrad.
 */
export const VARIANTS = [
  'single-cls',
  'single-det',
  'single-seg',
  'stage1-cls',
  'stage2-det',
  'stage3-seg',
  'bigbang',
  'multichexnet-joint',
  'multichexnet-alternating',
  'multichexnet-joint-gradnorm',
  'multichexnet-joint-pcgrad',
] as const;
/** One of {@link VARIANTS}. */
export type Variant = (typeof VARIANTS)[number];
/** The variants of a single Table 1 run without a protocol (the quickstart's): the paper's original six. */
export const CORE_VARIANTS: readonly Variant[] = [
  'single-cls',
  'single-det',
  'single-seg',
  'bigbang',
  'multichexnet-joint',
  'multichexnet-alternating',
];
/** Variants whose weights come from the shared pre-training run (checkpoints at the end of a stage). */
export const STAGE_VARIANTS: readonly Variant[] = ['stage1-cls', 'stage2-det', 'stage3-seg'];
/** Variants that continue from the shared pre-training run with an MTL phase. */
export const MTL_FROM_PRETRAIN: readonly Variant[] = [
  'multichexnet-joint',
  'multichexnet-alternating',
  'multichexnet-joint-gradnorm',
  'multichexnet-joint-pcgrad',
];

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
    seed: SeedSchema.default(0),
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
    /** Variants to train (default the paper's six: no stage baselines, no ablations). */
    variants: z
      .array(z.enum(VARIANTS))
      .min(1)
      .default([...CORE_VARIANTS]),
    /** Loss weightings of the joint MTL ablation rows. */
    ablations: z
      .object({
        gradnorm: LossWeightingConfigSchema.prefault({ type: 'gradnorm' }),
        pcgrad: LossWeightingConfigSchema.prefault({ type: 'pcgrad' }),
      })
      .strict()
      .prefault({}),
  })
  .strict();
/** What users pass. */
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;
/** The resolved experiment config. */
export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;
