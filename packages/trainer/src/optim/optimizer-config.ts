import { z } from '@multichexnet/core';

/** Adam (Kingma & Ba) with optional decoupled weight decay (AdamW when `weightDecay` > 0). */
export const AdamConfigSchema = z
  .object({
    type: z.literal('adam'),
    learningRate: z.number().positive().default(1e-3),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-7),
    weightDecay: z.number().min(0).default(0),
  })
  .strict();

/** SGD with optional (Nesterov) momentum and L2 weight decay. */
export const SgdConfigSchema = z
  .object({
    type: z.literal('sgd'),
    learningRate: z.number().positive().default(1e-2),
    momentum: z.number().min(0).lt(1).default(0.9),
    nesterov: z.boolean().default(false),
    weightDecay: z.number().min(0).default(0),
  })
  .strict();

/** The optimizer of a training phase. */
export const OptimizerConfigSchema = z.discriminatedUnion('type', [AdamConfigSchema, SgdConfigSchema]);
/** What a plan writes. */
export type OptimizerConfigInput = z.input<typeof OptimizerConfigSchema>;
/** The resolved optimizer config. */
export type OptimizerConfig = z.output<typeof OptimizerConfigSchema>;
/** The optimizer of a phase or a fine-tuning that names none: Adam at its defaults (learning rate 1e-3). */
export const DEFAULT_OPTIMIZER: OptimizerConfig = AdamConfigSchema.parse({ type: 'adam' });

/**
 * Learning-rate schedule over the steps of a phase, as a factor of the optimizer's `learningRate`:
 * `constant`; `step` (x gamma every `stepSize` steps); `cosine` (linear warm-up over `warmupSteps`, then cosine
 * decay to `minFactor`).
 */
export const ScheduleConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant') }).strict(),
  z
    .object({
      type: z.literal('step'),
      stepSize: z.number().int().positive(),
      gamma: z.number().positive().max(1).default(0.1),
    })
    .strict(),
  z
    .object({
      type: z.literal('cosine'),
      warmupSteps: z.number().int().nonnegative().default(0),
      minFactor: z.number().min(0).max(1).default(0),
    })
    .strict(),
]);
/** What a plan writes. */
export type ScheduleConfigInput = z.input<typeof ScheduleConfigSchema>;
/** The resolved schedule. */
export type ScheduleConfig = z.output<typeof ScheduleConfigSchema>;
