import { FEATURE_LEVELS, z, SeedSchema } from '@multichexnet/core';
import { PreprocessConfigSchema, SplitConfigSchema } from '@multichexnet/data';
import { DEFAULT_OPTIMIZER, OptimizerConfigSchema, ScheduleConfigSchema } from '@multichexnet/trainer';
import { FREEZE_MODES } from '../model/cls-path';

/** How class imbalance of the new classes is handled. */
export const IMBALANCE_MODES = ['weighted-loss', 'oversample', 'none'] as const;
/**
 * One of {@link IMBALANCE_MODES}: `weighted-loss` gives the new head CheXNet's per-class BCE weights from the
 * training labels (w+ = N-/N, w- = N+/N); `oversample` repeats samples of rare label patterns (seeded) until each
 * pattern reaches `oversampleRatio` times the most common one; `none` trains on the data as it is.
 */
export type ImbalanceMode = (typeof IMBALANCE_MODES)[number];

/**
 * The JSON part of a fine-tuning run (`fineTune` also takes the source model and the data). Every default is the
 * paper's transfer setting on the tiny preset: a new COVID-19 decoder on a frozen encoder.
 */
export const FineTuneConfigSchema = z
  .object({
    /**
     * The new classes C': harmonised pathologies (`COVID-19`, `Pneumonia`, the ChestX-ray14 labels) or levels of
     * the COVID collection's `finding` hierarchy (`Viral`, `Bacterial`, `SARS`, ...).
     */
    classes: z.array(z.string().min(1)).min(1).default(['COVID-19']),
    /** What learns: see FREEZE_MODES. */
    freeze: z.enum(FREEZE_MODES).default('encoder-frozen'),
    /** Learning-rate factor of the transferred parameters that learn (theta_feats; theta_dec too with decoder `keep`). */
    lrMultiplier: z.number().min(0).max(10).default(0.1),
    /** `new`: theta_dec re-initialised with C' outputs; `keep`: the source decoder goes on learning (same classes). */
    decoder: z.enum(['new', 'keep']).default('new'),
    /** The new head when the source model has no cls head (otherwise its level, hidden layer and dropout are kept). */
    head: z
      .object({
        level: z.enum(FEATURE_LEVELS).default('c5'),
        hidden: z.number().int().nonnegative().default(0),
        dropout: z.number().min(0).lt(1).default(0),
      })
      .strict()
      .prefault({}),
    imbalance: z.enum(IMBALANCE_MODES).default('weighted-loss'),
    /** With `oversample`: every label pattern is topped up to this fraction of the most common one. */
    oversampleRatio: z.number().gt(0).max(1).default(1),
    steps: z.number().int().positive().default(100),
    batchSize: z.number().int().positive().default(16),
    optimizer: OptimizerConfigSchema.default(DEFAULT_OPTIMIZER),
    schedule: ScheduleConfigSchema.default({ type: 'cosine', warmupSteps: 0, minFactor: 0.1 }),
    /** Seed of the new decoder, the data order, augmentation, dropout and oversampling. */
    seed: SeedSchema.default(0),
    /** Network input side; default the source run's (plan.json), else 128. */
    imageSize: z.number().int().positive().multipleOf(32).optional(),
    /** Preprocessing (without `size`); default the source run's. */
    preprocess: PreprocessConfigSchema.omit({ size: true }).optional(),
    /** Random augmentation of the training images. */
    augment: z.boolean().default(true),
    /** Patient-level split of a COVID collection folder (ignored for given splits). */
    split: SplitConfigSchema.prefault({ fractions: { train: 0.6, val: 0.2, test: 0.2 } }),
    /** Views kept from a COVID collection folder (frontal X-rays). */
    views: z.array(z.string().min(1)).min(1).default(['PA', 'AP', 'AP Supine']),
    /**
     * The gate of the fine-tuned model when the source has a cls-path gate: it reads `classes` (default: the old
     * gate classes when the new head has them all, else every new class) and its threshold is chosen on
     * validation data for `sensitivity`. `null` drops it. A binary-head gate is kept unchanged.
     */
    gate: z
      .union([
        z.null(),
        z
          .object({
            classes: z.array(z.string().min(1)).min(1).optional(),
            sensitivity: z.number().gt(0).lte(1).default(0.9),
          })
          .strict(),
      ])
      .default({ sensitivity: 0.9 }),
    /** Sensitivity is reported at this specificity. */
    specificity: z.number().gt(0).lt(1).default(0.9),
    /** When given: the run folder (weights/, transfer.json, metrics.jsonl, checkpoints/). */
    runDir: z.string().min(1).optional(),
    /** With `runDir`: a checkpoint every this many steps (0: only at the end), from which `resume` goes on. */
    checkpointEvery: z.number().int().nonnegative().default(50),
    /** Position checkpoints kept in `runDir`/checkpoints (the newest ones). */
    keepCheckpoints: z.number().int().positive().default(2),
  })
  .strict();
/** What users pass (JSON part). */
export type FineTuneConfigInput = z.input<typeof FineTuneConfigSchema>;
/** The resolved config. */
export type FineTuneConfig = z.output<typeof FineTuneConfigSchema>;
