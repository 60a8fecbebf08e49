import { ConfigError, parseConfig, z } from '@multichexnet/core/base';

/** Random augmentation ranges (training only; drawn per sample from a seeded generator). */
export const AugmentConfigSchema = z
  .object({
    /** Max rotation in degrees, uniform in [-r, r]. Chest films are rarely rotated by more than a few degrees. */
    rotationDeg: z.number().min(0).max(45).default(5),
    /** Isotropic scale range. */
    scale: z.tuple([z.number().positive(), z.number().positive()]).default([0.9, 1.1]),
    /** Max translation as a fraction of the size, uniform in [-t, t] on each axis. */
    translate: z.number().min(0).max(0.5).default(0.05),
    /** Contrast factor range around the image mean. */
    contrast: z.tuple([z.number().positive(), z.number().positive()]).default([0.9, 1.1]),
    /** Brightness offset range, in units of the full [0, 1] range. */
    brightness: z.tuple([z.number(), z.number()]).default([-0.05, 0.05]),
    /** Gamma range (applied to [0, 1] intensities). */
    gamma: z.tuple([z.number().positive(), z.number().positive()]).default([0.9, 1.1]),
    /**
     * Probability of a left-right flip. 0 by default: anatomy is not symmetric (heart on the left), so a flipped
     * film is not a plausible film.
     */
    flipHorizontal: z.number().min(0).max(1).default(0),
  })
  .strict();

/**
 * Preprocessing of an image into a model input, shared by training and inference (it is stored with the model
 * as its preprocessing metadata); `augment` holds the training-only random ranges.
 *
 * - `size`: output is size x size.
 * - `fit`: `letterbox` keeps the aspect ratio and pads with black (default; chest films of the COVID collection
 *   come in many shapes, and stretching changes the apparent heart size); `stretch` scales each axis; `crop` keeps
 *   the centred square whose side is `crop` times the shorter side and scales it to size (how pretrained ImageNet
 *   and torchxrayvision weights were fed: torchvision's resize 256 + centre crop 224 is `crop: 0.875`).
 * - `interpolation`: `area` (default) averages the source footprint, the right filter for 1024→256 downscaling;
 *   `bilinear` samples 2x2 neighbours (half-pixel centres), as `tf.image.resizeBilinear`.
 * - normalisation: `(x / maxValue - mean) / std` with x the stored value; with `channels: 3` the grey film is
 *   repeated as RGB and `mean` / `std` may give one value per channel (ImageNet statistics), inference only.
 */
export const PreprocessConfigSchema = z
  .object({
    size: z.number().int().min(8).max(4096).default(256),
    fit: z.enum(['letterbox', 'stretch', 'crop']).default('letterbox'),
    /** `fit: 'crop'` only: side of the centred square kept, as a fraction of the shorter side (absent: 1). */
    crop: z.number().gt(0).lte(1).optional(),
    interpolation: z.enum(['area', 'bilinear']).default('area'),
    /** Channels of the model input: 1 (absent) or 3 (the grey film repeated as RGB, for a 3-channel stem). */
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
    mean: z.union([z.number(), z.array(z.number()).min(1)]).default(0.5),
    std: z.union([z.number().positive(), z.array(z.number().positive()).min(1)]).default(0.25),
    augment: AugmentConfigSchema.default(AugmentConfigSchema.parse({})),
  })
  .strict();

/** What users pass (every field optional). */
export type PreprocessConfigInput = z.input<typeof PreprocessConfigSchema>;
/** The resolved preprocessing config. */
export type PreprocessConfig = z.output<typeof PreprocessConfigSchema>;
/** The resolved augmentation ranges. */
export type AugmentConfig = z.output<typeof AugmentConfigSchema>;

/**
 * Validates a preprocessing config (ConfigError naming the field on failure) and fills the defaults.
 *
 * @example
 * const pre = resolvePreprocessConfig({ size: 224, fit: 'stretch' });
 */
export function resolvePreprocessConfig(input: PreprocessConfigInput = {}): PreprocessConfig {
  const c = parseConfig(PreprocessConfigSchema, input, 'preprocess config');
  // A cross-field rule, checked here rather than as a schema refinement (plans derive from the schema with .omit).
  for (const key of ['mean', 'std'] as const) {
    const v = c[key];
    if (Array.isArray(v) && v.length !== (c.channels ?? 1)) {
      throw new ConfigError('preprocess config', [
        {
          path: key,
          rule: `must hold one value per channel (${c.channels ?? 1}), or be one number`,
          received: JSON.stringify(v),
        },
      ]);
    }
  }
  return c;
}
