import { FeatureChannelsSchema, z, SeedSchema, BlockNameSchema } from '@multichexnet/core';

/**
 * The CheXCovid config. `featureChannels` comes from the encoder (`encoder.featureChannels`).
 *
 * @example
 * createCovidHead({ featureChannels: encoder.featureChannels, hidden: 16, seed: 1 });
 */
export const CovidHeadConfigSchema = z
  .object({
    /** Channels of the encoder's feature levels. */
    featureChannels: FeatureChannelsSchema,
    /** Units of an optional hidden dense layer + ReLU between the pooled c5 features and the logit (0 = none). */
    hidden: z.number().int().nonnegative().default(0),
    /** Weight of the positive term of the BCE (COVID-19 films are the rare class). */
    posWeight: z.number().positive().finite().default(1),
    /** Seed of the initializers. */
    seed: SeedSchema.default(0),
    /** Block name, prefix of every layer name. */
    name: BlockNameSchema.default('covid'),
  })
  .strict();

/** What a user passes to `createCovidHead`. */
export type CovidHeadConfigInput = z.input<typeof CovidHeadConfigSchema>;
/** The resolved config, JSON only. */
export type CovidHeadConfig = z.output<typeof CovidHeadConfigSchema>;
