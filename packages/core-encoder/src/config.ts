import { z, SeedSchema, BlockNameSchema } from '@multichexnet/core';
import { ENCODER_PRESETS, PRESETS, type DenseNetArchitecture, type EncoderPreset } from './presets';

// Layer names become tfjs tensor names (which must match /^[A-Za-z0-9][-A-Za-z0-9._\/]*$/); the block name is a
// prefix of every layer, so it may not contain '/' (that would read as a name scope).

/**
 * The CheXEnc config: a preset plus optional per-field overrides. Parsing resolves the preset, so the output
 * (`EncoderConfig`) always holds every architecture field: it alone rebuilds the same encoder.
 *
 * @example
 * createEncoder({ preset: 'densenet-tiny', growthRate: 12, seed: 7 });
 */
export const EncoderConfigSchema = z
  .object({
    /** Which preset to start from (default `densenet-small`). */
    preset: z.enum(ENCODER_PRESETS).default('densenet-small'),
    initFeatures: z.number().int().positive().optional(),
    growthRate: z.number().int().positive().optional(),
    blockLayers: z
      .tuple([
        z.number().int().positive(),
        z.number().int().positive(),
        z.number().int().positive(),
        z.number().int().positive(),
      ])
      .optional(),
    bottleneckWidth: z.number().int().nonnegative().optional(),
    compression: z.number().gt(0).lte(1).optional(),
    dropRate: z.number().min(0).lt(1).optional(),
    /** Seed of every initializer (and of the dropout masks). */
    seed: SeedSchema.default(0),
    /** Block name, prefix of every layer name, so two encoders can live in one graph. */
    name: BlockNameSchema.default('encoder'),
    /** Image channels (1 for radiographs; 3 to load ImageNet-style weights). */
    inputChannels: z.number().int().positive().default(1),
    /**
     * Recompute the dense layers in the backward pass instead of keeping their activations (torchvision's
     * `memory_efficient`): same outputs, gradients and weights, far less memory, more time. Default: on for
     * `densenet121` (whose training batch of 16 at 256 px cannot fit the 4 GiB wasm heap otherwise), off for the
     * compact presets.
     */
    memoryEfficient: z.boolean().optional(),
  })
  .strict()
  .transform((c) => {
    const p = PRESETS[c.preset];
    const arch: DenseNetArchitecture = {
      initFeatures: c.initFeatures ?? p.initFeatures,
      growthRate: c.growthRate ?? p.growthRate,
      blockLayers: c.blockLayers ?? [...p.blockLayers],
      bottleneckWidth: c.bottleneckWidth ?? p.bottleneckWidth,
      compression: c.compression ?? p.compression,
      dropRate: c.dropRate ?? p.dropRate,
    };
    return {
      preset: c.preset,
      ...arch,
      seed: c.seed,
      name: c.name,
      inputChannels: c.inputChannels,
      memoryEfficient: c.memoryEfficient ?? c.preset === 'densenet121',
    };
  });

/** What a user passes to `createEncoder` (every field optional). */
export type EncoderConfigInput = z.input<typeof EncoderConfigSchema>;

/** The resolved encoder config: every field present, JSON only. */
export interface EncoderConfig extends DenseNetArchitecture {
  preset: EncoderPreset;
  seed: number;
  name: string;
  inputChannels: number;
  /** Whether training recomputes the dense layers' wide tensors in the backward pass (see the schema). */
  memoryEfficient: boolean;
}
