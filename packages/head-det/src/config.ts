import { FeatureChannelsSchema, z, SeedSchema, BlockNameSchema } from '@multichexnet/core';
import { RSNA_ANCHORS } from './anchors/rsna-anchors';

// Layer names become tfjs tensor names; the block name prefixes every layer, so it may not contain '/'.

/** One anchor shape, width and height as fractions of the image. */
export const AnchorSchema = z.object({ width: z.number().gt(0).lte(1), height: z.number().gt(0).lte(1) }).strict();

/** Weights and rules of the CheXDet loss (see `detLoss`). */
export const DetLossConfigSchema = z
  .object({
    /** Weight of the L2 box regression on matched anchors (YOLO's lambda_coord). */
    coordWeight: z.number().min(0).default(5),
    /** Weight of the objectness BCE on matched anchors. */
    objectWeight: z.number().min(0).default(1),
    /** Weight of the objectness BCE on unmatched anchors (YOLO's lambda_noobj: negatives are down-weighted). */
    noObjectWeight: z.number().min(0).default(0.5),
    /**
     * An unmatched anchor whose predicted box overlaps some truth box with IoU >= this value adds no objectness
     * loss (YOLOv2's 0.6 rule). `null` switches the rule off.
     */
    ignoreIoU: z.number().gt(0).lte(1).nullable().default(0.6),
  })
  .strict();

/** Defaults of `decode` (each can be overridden per call of `decodeDetections`). */
export const DetDecodeConfigSchema = z
  .object({
    /** Keep boxes whose objectness probability is >= this. */
    scoreThreshold: z.number().min(0).max(1).default(0.25),
    /** NMS drops a box whose IoU with an already kept, higher-scored box is > this. */
    nmsIoU: z.number().min(0).max(1).default(0.5),
    /** At most this many boxes per image, highest scores first. */
    maxDetections: z.number().int().positive().default(10),
  })
  .strict();

/**
 * The CheXDet config. Only `featureChannels` is required.
 *
 * @example
 * createDetHead({ featureChannels: encoder.featureChannels, level: 'c5', hiddenChannels: 128, seed: 1 });
 */
export const DetHeadConfigSchema = z
  .object({
    /** Channel counts of the encoder features the head sits on (`encoder.featureChannels`). */
    featureChannels: FeatureChannelsSchema,
    /** Which feature level carries the grid: `c5` (stride 32: an 8 x 8 grid at 256 px, as the authors) or `c4`. */
    level: z.enum(['c5', 'c4']).default('c5'),
    /** K anchor shapes (fractions of the image). Default: k-means over the real RSNA boxes (`RSNA_ANCHORS`). */
    anchors: z
      .array(AnchorSchema)
      .min(1)
      .default(() => RSNA_ANCHORS.map((a) => ({ width: a.width, height: a.height }))),
    /** Width of the 3x3 conv + BatchNorm + ReLU layers before the prediction conv. */
    hiddenChannels: z.number().int().positive().default(256),
    /** Number of those layers (0: the prediction conv sits directly on the features). */
    hiddenLayers: z.number().int().min(0).max(8).default(2),
    /** Initial objectness probability of every anchor (bias of the objectness logits, as RetinaNet). */
    priorProbability: z.number().gt(0).lt(1).default(0.01),
    /** Seed of every initializer. */
    seed: SeedSchema.default(0),
    /** Block name, prefix of every layer name. */
    name: BlockNameSchema.default('chex_det'),
    loss: DetLossConfigSchema.prefault({}),
    decode: DetDecodeConfigSchema.prefault({}),
  })
  .strict();

/** What a user passes to `createDetHead`. */
export type DetHeadConfigInput = z.input<typeof DetHeadConfigSchema>;
/** The resolved CheXDet config: every field present, JSON only. */
export type DetHeadConfig = z.output<typeof DetHeadConfigSchema>;
/** Resolved loss settings. */
export type DetLossConfig = z.output<typeof DetLossConfigSchema>;
/** Resolved decode settings. */
export type DetDecodeConfig = z.output<typeof DetDecodeConfigSchema>;
