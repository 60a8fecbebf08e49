import { FEATURE_LEVELS, FeatureChannelsSchema, z, SeedSchema, BlockNameSchema } from '@multichexnet/core';

// Layer names become tfjs tensor names; the block name prefixes them, so it may not contain '/' (a name scope).

const classWeights = z.array(z.number().nonnegative().finite());

/**
 * The CheXCls config. `featureChannels` comes from the encoder (`encoder.featureChannels`); `posWeights` /
 * `negWeights` weight the positive / negative term of each class's BCE (see `positiveWeightsFromLabels`).
 *
 * @example
 * createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels: encoder.featureChannels, seed: 1 });
 */
export const ClsHeadConfigSchema = z
  .object({
    /** Class names, one logit each, in output order. */
    classes: z.array(z.string().min(1)).min(1),
    /** Channels of the encoder's feature levels. */
    featureChannels: FeatureChannelsSchema,
    /** Which feature level is pooled (default c5, the coarsest, as CheXNet). */
    level: z.enum(FEATURE_LEVELS).default('c5'),
    /** Units of an optional hidden dense layer + ReLU between pooling and the logits (0 = none). */
    hidden: z.number().int().nonnegative().default(0),
    /** Dropout rate before the logits layer, training only. */
    dropout: z.number().min(0).lt(1).default(0),
    /** Weight of the positive term per class (CheXNet's w+); default 1. */
    posWeights: classWeights.optional(),
    /** Weight of the negative term per class (CheXNet's w-); default 1. */
    negWeights: classWeights.optional(),
    /** Seed of the initializers and of the dropout masks. */
    seed: SeedSchema.default(0),
    /** Block name, prefix of every layer name. */
    name: BlockNameSchema.default('cls'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.classes.forEach((name, i) => {
      if (seen.has(name))
        ctx.addIssue({ code: 'custom', path: ['classes', i], message: `must be unique ("${name}" appears twice)` });
      seen.add(name);
    });
    for (const key of ['posWeights', 'negWeights'] as const) {
      const w = c[key];
      if (w !== undefined && w.length !== c.classes.length) {
        ctx.addIssue({ code: 'custom', path: [key], message: `must hold one weight per class (${c.classes.length})` });
      }
    }
  });

/** What a user passes to `createClsHead`. */
export type ClsHeadConfigInput = z.input<typeof ClsHeadConfigSchema>;
/** The resolved config, JSON only. */
export type ClsHeadConfig = z.output<typeof ClsHeadConfigSchema>;
