import { z, SeedSchema } from '@multichexnet/core';
import { PreprocessConfigSchema, SplitConfigSchema } from '@multichexnet/data';
import { configuredTasks, ENCODER_BLOCK, GATE_BLOCK, ModelConfigSchema } from '@multichexnet/model';
import { LossWeightingConfigSchema } from '../losses/loss-weighting';
import { DEFAULT_OPTIMIZER, OptimizerConfigSchema, ScheduleConfigSchema } from '../optim/optimizer-config';

/** The training datasets a plan can draw batches from. */
export const PLAN_SOURCES = ['nih', 'rsna', 'siim'] as const;
/** One of {@link PLAN_SOURCES}. */
export type PlanSource = (typeof PLAN_SOURCES)[number];

const NAME = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and hold only letters, digits, ., _ and -');

/**
 * One kind of batch of a phase. A phase with several recipes alternates between them step by step (step k uses
 * recipe k mod n): the alternating MTL mode. A recipe over several datasets mixes them in one batch (masked
 * losses: every sample adds the losses its labels allow).
 */
export const BatchRecipeSchema = z
  .object({
    /** Datasets the batch draws from (several: one shuffled pool, so one batch mixes them). */
    datasets: z.array(z.enum(PLAN_SOURCES)).min(1),
    /**
     * Losses computed on the batch (each masked to the samples that carry that label): tasks of the model (`cls`,
     * `det`, `seg`, ...) and `gate` for a binary-head gate.
     */
    tasks: z.array(z.string().min(1)).min(1),
    /** Derive det boxes from the seg masks of samples without boxes (SIIM: `maskToBoxes`), as the joint mode. */
    detFromMasks: z.boolean().default(false),
    /**
     * Mask components smaller than this fraction of the image give no derived box: masks carry specks a box
     * regression cannot fit (a 1 x 3 px box is 20 times thinner than the smallest anchor).
     */
    maskBoxMinArea: z.number().min(0).max(1).default(0.0025),
  })
  .strict();
/** What a plan writes for a recipe. */
export type BatchRecipeInput = z.input<typeof BatchRecipeSchema>;
/** A resolved recipe. */
export type BatchRecipe = z.output<typeof BatchRecipeSchema>;

/**
 * Which samples train the det/seg heads: `all` (every sample with a det/seg label, negatives as empty targets:
 * the single-task baselines) or `teacher-forcing` (with probability `p` the ground-truth positives, otherwise the
 * gate's positives, its false positives as negatives).
 */
export const RoutingConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('all') }).strict(),
  z.object({ type: z.literal('teacher-forcing'), p: z.number().min(0).max(1).default(0.9) }).strict(),
]);
/** A resolved routing config. */
export type RoutingConfig = z.output<typeof RoutingConfigSchema>;

/** One phase of a plan: which blocks learn, on which batches, how long, with what optimizer. */
export const PhaseSchema = z
  .object({
    /** Unique name; also seeds the phase's data order and teacher-forcing draws. */
    name: NAME,
    /** `pretrain` (Algorithm 1 stages 1-3), `mtl` (stage 4), or `single` (a single-task baseline). */
    stage: z.enum(['pretrain', 'mtl', 'single']).default('mtl'),
    description: z.string().default(''),
    /** Blocks the optimizer updates (`encoder`, task names, `gate`); every other block is frozen (inference mode). */
    trainable: z.array(z.string().min(1)).min(1),
    batches: z.array(BatchRecipeSchema).min(1),
    steps: z.number().int().positive(),
    batchSize: z.number().int().positive().default(16),
    /**
     * Gradient accumulation: each batch of `batchSize` runs as this many micro-batches of `batchSize / accumulate`
     * samples, one after the other, whose gradients are averaged into one optimizer step (so a batch that does not
     * fit in memory still trains). BatchNorm normalises each micro-batch with its own statistics, as PyTorch does.
     * Absent = 1 (no accumulation).
     */
    accumulate: z.number().int().positive().optional(),
    optimizer: OptimizerConfigSchema.default(DEFAULT_OPTIMIZER),
    schedule: ScheduleConfigSchema.default({ type: 'constant' }),
    lossWeighting: LossWeightingConfigSchema.default({ type: 'equal' }),
    routing: RoutingConfigSchema.default({ type: 'all' }),
    /** Random augmentation of the training images (the plan's `preprocess.augment` ranges). */
    augment: z.boolean().default(true),
    /** Validate (and keep the best weights) every N steps; 0 = only at the end of the phase. */
    evalEvery: z.number().int().nonnegative().default(0),
    /** Write a checkpoint every N steps; 0 = only at the end of the phase. */
    checkpointEvery: z.number().int().nonnegative().default(0),
    /** At the end of the phase, go back to the weights of the best validation score. */
    restoreBest: z.boolean().default(false),
  })
  .strict();
/** What a plan writes for a phase. */
export type PhaseInput = z.input<typeof PhaseSchema>;
/** A resolved phase. */
export type Phase = z.output<typeof PhaseSchema>;

/**
 * A training plan as data (a JSON file): the model, the preprocessing, the splits and the phases. Everything a run
 * does follows from it and its seed.
 *
 * @example
 * const plan = parsePlan(JSON.parse(await readFile('plan.json', 'utf8')));
 */
export const TrainingPlanSchema = z
  .object({
    format: z.literal('multichexnet-plan').default('multichexnet-plan'),
    name: NAME,
    description: z.string().default(''),
    /** Seed of every random choice of the run: initial weights, data order, augmentation, teacher forcing. */
    seed: SeedSchema.default(0),
    /** Side of the network input in pixels (multiple of 32). */
    imageSize: z.number().int().positive().multipleOf(32).default(128),
    /** Preprocessing and augmentation ranges (`size` comes from imageSize). */
    preprocess: PreprocessConfigSchema.omit({ size: true }).prefault({}),
    /** Patient-level split of each dataset into train / val / test. */
    split: SplitConfigSchema.prefault({}),
    model: ModelConfigSchema,
    /**
     * A run folder (or a weights folder) whose blocks start this run: each block it holds (encoder, cls, ...) is built
     * from its config and loaded with its weights in place of the plan's, and its recorded preprocessing (size aside)
     * replaces the plan's normalisation; blocks it lacks start from the seed. Algorithm 1 from stage 2 on top of an
     * imported stage 1: `multichexnet import chexnet model.pth.tar --out runs/chexnet`, then `"init": "runs/chexnet"`.
     */
    init: z.string().min(1).optional(),
    /** Where an imported model came from (written by `multichexnet import`; such a plan has no phases). */
    pretrained: z.record(z.string(), z.unknown()).optional(),
    /** The gate threshold is chosen on validation data for this sensitivity at the end of the run. */
    gateSensitivity: z.number().gt(0).lte(1).default(0.9),
    /** Checkpoints kept (the latest ones; the best ones are kept apart). */
    keepCheckpoints: z.number().int().positive().default(2),
    /** Log (metrics.jsonl, events) every N steps. */
    logEvery: z.number().int().positive().default(10),
    phases: z.array(PhaseSchema),
  })
  .strict()
  .superRefine((plan, ctx) => {
    if (plan.phases.length === 0 && plan.pretrained === undefined)
      ctx.addIssue({ code: 'custom', path: ['phases'], message: 'must hold at least one phase' });
    const names = new Set<string>();
    const tasks = configuredTasks(plan.model);
    const blocks = new Set([ENCODER_BLOCK, ...tasks, ...(plan.model.gate?.kind === 'binary-head' ? [GATE_BLOCK] : [])]);
    const known = [...blocks].join(', ');
    plan.phases.forEach((phase, p) => {
      if (names.has(phase.name))
        ctx.addIssue({
          code: 'custom',
          path: ['phases', p, 'name'],
          message: `must be unique ("${phase.name}" appears twice)`,
        });
      names.add(phase.name);
      phase.trainable.forEach((b, i) => {
        if (!blocks.has(b))
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'trainable', i],
            message: `names block "${b}", which model does not define (its blocks: ${known})`,
          });
      });
      const weights = phase.lossWeighting.type === 'fixed' ? Object.keys(phase.lossWeighting.weights) : [];
      weights.forEach((t) => {
        if (t === ENCODER_BLOCK || !blocks.has(t))
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'lossWeighting', 'weights', t],
            message: `names loss "${t}", which model does not define (its losses: ${[...blocks].filter((b) => b !== ENCODER_BLOCK).join(', ')})`,
          });
      });
      phase.batches.forEach((r, i) => {
        r.tasks.forEach((t, j) => {
          if (t === ENCODER_BLOCK || !blocks.has(t))
            ctx.addIssue({
              code: 'custom',
              path: ['phases', p, 'batches', i, 'tasks', j],
              message: `task "${t}" needs model.${t === GATE_BLOCK ? "gate of kind 'binary-head'" : t}`,
            });
        });
        if (r.detFromMasks && !r.tasks.includes('det')) {
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'batches', i, 'detFromMasks'],
            message: 'needs "det" among the tasks',
          });
        }
      });
      if (phase.accumulate !== undefined && phase.batchSize % phase.accumulate !== 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', p, 'accumulate'],
          message: `must divide batchSize (${phase.batchSize}) into equal micro-batches`,
        });
      }
      if (phase.routing.type === 'teacher-forcing' && plan.model.gate === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', p, 'routing'],
          message: 'teacher forcing routes by the gate: define model.gate',
        });
      }
    });
  });
/** What a plan file holds. */
export type TrainingPlanInput = z.input<typeof TrainingPlanSchema>;
/** A resolved plan (every default filled in): what `plan.json` of a run holds. */
export type TrainingPlan = z.output<typeof TrainingPlanSchema>;
