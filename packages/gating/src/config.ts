import { FEATURE_LEVELS, FeatureChannelsSchema, z, SeedSchema, BlockNameSchema } from '@multichexnet/core';

// Layer names become tfjs tensor names; the block name prefixes them, so it may not contain '/' (a name scope).
const probability = z.number().min(0).max(1);

/**
 * The network of a dedicated binary gate: global average pooling of one encoder level, an optional hidden dense
 * layer + ReLU, one logit. Only `featureChannels` is required.
 *
 * @example
 * createGateHead({ featureChannels: encoder.featureChannels, hidden: 16, seed: 3 });
 */
export const GateHeadConfigSchema = z
  .object({
    /** Channel counts of the encoder levels (`encoder.featureChannels`). */
    featureChannels: FeatureChannelsSchema,
    /** Which level is pooled (default c5, as the classification head). */
    level: z.enum(FEATURE_LEVELS).default('c5'),
    /** Units of an optional hidden dense layer + ReLU (0 = logistic regression on the pooled features). */
    hidden: z.number().int().nonnegative().default(0),
    /** Initial probability of "positive" (bias of the logit), so training starts at the class prior. */
    priorProbability: z.number().gt(0).lt(1).default(0.5),
    /** Seed of every initializer. */
    seed: SeedSchema.default(0),
    /** Block name, prefix of every layer name. */
    name: BlockNameSchema.default('gate'),
  })
  .strict();

/** What a user passes to `createGateHead`. */
export type GateHeadConfigInput = z.input<typeof GateHeadConfigSchema>;
/** The resolved gate-head config, JSON only. */
export type GateHeadConfig = z.output<typeof GateHeadConfigSchema>;

const ClsPathSchema = z
  .object({
    kind: z.literal('cls-path'),
    /** The task whose class probabilities the gate reads (a task with classes, e.g. CheXCls's `cls`). */
    task: z.string().min(1).default('cls'),
    /** The classes whose probabilities open the gate, e.g. ['Pneumonia', 'Pneumothorax']. */
    classes: z.array(z.string().min(1)).min(1),
    /**
     * The class order of the probabilities the gate reads (that task's classes, e.g. the cls head's `config.classes`).
     */
    classNames: z.array(z.string().min(1)).min(1),
    /**
     * `max`: the gate probability is the largest probability of `classes`, positive when it reaches `threshold`
     * (what the exported ONNX gate computes). `any`: positive when any class reaches its own entry of
     * `classThresholds` (default `threshold`); the reported probability is still the max.
     */
    reduce: z.enum(['max', 'any']).default('max'),
    /** Probability at or above which an image is positive. */
    threshold: probability.default(0.5),
    /** Per-class thresholds of `reduce: 'any'`. */
    classThresholds: z.record(z.string(), probability).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.classes.forEach((name, i) => {
      if (!c.classNames.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['classes', i],
          message: `must be one of classNames (${c.classNames.join(', ')})`,
        });
      }
    });
    for (const name of Object.keys(c.classThresholds ?? {})) {
      if (!c.classes.includes(name))
        ctx.addIssue({ code: 'custom', path: ['classThresholds', name], message: 'must name one of classes' });
    }
  });

const BinaryHeadSchema = z
  .object({
    kind: z.literal('binary-head'),
    /** The network (see {@link GateHeadConfigSchema}). */
    head: GateHeadConfigSchema,
    /** Probability at or above which an image is positive. */
    threshold: probability.default(0.5),
  })
  .strict();

/**
 * The first-stage gate: either the classification path (`cls-path`: the MTL classifier's probabilities of chosen
 * classes) or a dedicated binary classifier head over the encoder features (`binary-head`).
 *
 * @example
 * createGate({ kind: 'cls-path', classes: ['Pneumonia', 'Pneumothorax'], classNames: [...CHESTXRAY14_CLASSES], threshold: 0.3 });
 * createGate({ kind: 'binary-head', head: { featureChannels: encoder.featureChannels }, threshold: 0.5 });
 */
export const GateConfigSchema = z.discriminatedUnion('kind', [ClsPathSchema, BinaryHeadSchema]);

/** What a user passes to `createGate`. */
export type GateConfigInput = z.input<typeof GateConfigSchema>;
/** The resolved gate config, JSON only. */
export type GateConfig = z.output<typeof GateConfigSchema>;
