import { FeatureChannelsSchema, z, SeedSchema, BlockNameSchema } from '@multichexnet/core';

// Layer names become tfjs tensor names; the block name prefixes every layer, so it may not contain '/'.

/** Weights of the CheXSeg loss (see `segLoss`). */
export const SegLossConfigSchema = z
  .object({
    /** Weight of the per-pixel BCE on logits (mean over the pixels of an image). */
    bceWeight: z.number().min(0).default(1),
    /** Weight of the soft Dice loss 1 - Dice (per image). */
    diceWeight: z.number().min(0).default(1),
    /** Smoothing term s of the soft Dice (2 sum(p t) + s) / (sum p + sum t + s); keeps empty truths defined. */
    diceSmooth: z.number().gt(0).default(1),
  })
  .strict();

/**
 * The CheXSeg config. Only `featureChannels` is required.
 *
 * @example
 * createSegHead({ featureChannels: encoder.featureChannels, decoderChannels: 64, upsampling: 'bilinear', seed: 1 });
 */
export const SegHeadConfigSchema = z
  .object({
    /** Channel counts of the encoder features the head sits on (`encoder.featureChannels`). */
    featureChannels: FeatureChannelsSchema,
    /** Width of every decoder level (the 1x1 lateral convs and the 3x3 convs after each merge). */
    decoderChannels: z.number().int().positive().default(64),
    /** Interpolation of every x2 step and of the final x4 step of the mask logits. */
    upsampling: z.enum(['nearest', 'bilinear']).default('bilinear'),
    /** Initial foreground probability of every pixel (bias of the logit conv). */
    priorProbability: z.number().gt(0).lt(1).default(0.1),
    /** Probability threshold of `decode`: a pixel is foreground when sigmoid(logit) > threshold. */
    threshold: z.number().gt(0).lt(1).default(0.5),
    /** Seed of every initializer. */
    seed: SeedSchema.default(0),
    /** Block name, prefix of every layer name. */
    name: BlockNameSchema.default('chex_seg'),
    loss: SegLossConfigSchema.prefault({}),
  })
  .strict();

/** What a user passes to `createSegHead`. */
export type SegHeadConfigInput = z.input<typeof SegHeadConfigSchema>;
/** The resolved CheXSeg config: every field present, JSON only. */
export type SegHeadConfig = z.output<typeof SegHeadConfigSchema>;
/** Resolved loss settings. */
export type SegLossConfig = z.output<typeof SegLossConfigSchema>;
