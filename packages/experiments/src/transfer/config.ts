import { z, SeedSchema } from '@multichexnet/core';
import { SplitConfigSchema } from '@multichexnet/data';
import { PLAN_SIZES } from '@multichexnet/trainer';
import { FREEZE_MODES, IMBALANCE_MODES, type FreezeMode, type ImbalanceMode } from '@multichexnet/transfer';

/**
 * The fine-tuning settings of a transfer table's rows (Table 3's COVID-19 decoder, Table 4's NIH fine-tuning) with
 * the table's defaults; the learning rate defaults to the tiny plans' rate, the batch to 16 images.
 */
function fineTuneFields(defaults: {
  freeze: FreezeMode;
  lrMultiplier: number;
  steps: number;
  imbalance: ImbalanceMode;
}) {
  return {
    freeze: z.enum(FREEZE_MODES).default(defaults.freeze),
    lrMultiplier: z.number().min(0).max(10).default(defaults.lrMultiplier),
    learningRate: z.number().positive().default(3e-3),
    steps: z.number().int().positive().default(defaults.steps),
    batchSize: z.number().int().positive().default(16),
    imbalance: z.enum(IMBALANCE_MODES).default(defaults.imbalance),
  };
}

/** Model folders (written by `model.save`, or run folders with weights/) to use instead of training them. */
const SourcesSchema = z
  .object({
    /** Encoder + CheXCls after Algorithm 1 stage 1 (NIH). */
    stage1: z.string().min(1).optional(),
    /** MultiCheXNet after the whole protocol (pre-training + joint MTL). */
    mtl: z.string().min(1).optional(),
    /** The CheXNet-multilabel baseline of Table 4 (encoder + 14 sigmoids trained on NIH only). */
    chexnet: z.string().min(1).optional(),
  })
  .strict();

/**
 * Options of the Table 3 / Table 4 experiments. Without `reuse` / `sources` the source models come from a short
 * protocol run inside `out` (trained once; a later run reuses it); without `covid` the COVID-19 set is synthetic.
 */
export const TransferExperimentConfigSchema = z
  .object({
    /** Experiment folder: data/, sources/ (the trained source models), table3.{json,md}, table4.{json,md}. */
    out: z.string().min(1),
    /** Plan size of the source protocol. */
    size: z.enum(PLAN_SIZES).default('tiny'),
    /** Seed of the data, the source plans and the splits; fine-tuning repeat k uses seed + k. */
    seed: SeedSchema.default(0),
    /** Fine-tuning repeats per Table 3 row (different seeds: decoder init, batch order, augmentation). */
    seeds: z.number().int().min(1).max(50).default(3),
    /**
     * A trainer experiment folder (Table 1 / the quickstart): its `multichexnet-joint` and `single-cls` runs are the
     * MTL source and the CheXNet baseline, its `data/` the NIH / RSNA / SIIM sets (with the split its table1.json or
     * table2.json records). Stage 1 is not kept there, so it is trained here (the first phase of the same plan).
     */
    reuse: z.string().min(1).optional(),
    sources: SourcesSchema.prefault({}),
    /** A COVID-19 image data collection folder (default: a synthetic one in <out>/data/covid). */
    covid: z.string().min(1).optional(),
    /** Images per synthetic dataset (ignored for data that is given or reused). */
    synthetic: z
      .object({
        nih: z.number().int().positive().default(600),
        rsna: z.number().int().positive().default(300),
        siim: z.number().int().positive().default(300),
        covid: z.number().int().positive().default(100),
        /** Share of COVID-19 patients: below 0.5 the new class is the minority. */
        covidFraction: z.number().gt(0).lt(1).default(0.35),
      })
      .strict()
      .prefault({}),
    /** Patient-level split of NIH / RSNA / SIIM (as the trainer's experiments). */
    split: SplitConfigSchema.prefault({ fractions: { train: 0.7, val: 0.1, test: 0.2 } }),
    /**
     * Each fine-tuning seed re-draws the patient split of the COVID set with that seed (repeated random
     * sub-sampling): on a set this small, which patients land in the test split moves the numbers as much as the
     * training randomness, and the spread should show both. The three Table 3 rows share the split of a seed.
     */
    resplit: z.boolean().default(true),
    /** Patient-level split fractions of the COVID set. */
    covidSplit: z
      .object({ train: z.number().min(0).max(1), val: z.number().min(0).max(1), test: z.number().min(0).max(1) })
      .strict()
      .default({ train: 0.5, val: 0.2, test: 0.3 }),
    /**
     * Step counts of the source protocol (and the CheXNet baseline) multiplied by this: half the tiny plans by
     * default, a short protocol for a single-folder run (a series reuses its seeds' models instead).
     */
    stepScale: z.number().gt(0).max(10).default(0.5),
    /** Table 3 fine-tuning (the same for every transferred row). */
    fineTune: z
      .object({
        classes: z.array(z.string().min(1)).min(1).default(['COVID-19']),
        ...fineTuneFields({ freeze: 'encoder-frozen', lrMultiplier: 0.1, steps: 40, imbalance: 'weighted-loss' }),
        /** Sensitivity is reported at this specificity. */
        specificity: z.number().gt(0).lt(1).default(0.9),
      })
      .strict()
      .prefault({}),
    /** The from-scratch row: every variable trainable from random weights, this many steps (default fineTune.steps). */
    scratchSteps: z.number().int().positive().optional(),
    /** Table 4: the MultiCheXNet classification path fine-tuned on NIH (same 14 classes, decoder kept). */
    nihFineTune: z
      .object({
        ...fineTuneFields({ freeze: 'all-trainable', lrMultiplier: 1, steps: 100, imbalance: 'none' }),
      })
      .strict()
      .prefault({}),
  })
  .strict();
/** What users pass. */
export type TransferExperimentConfigInput = z.input<typeof TransferExperimentConfigSchema>;
/** The resolved config. */
export type TransferExperimentConfig = z.output<typeof TransferExperimentConfigSchema>;
