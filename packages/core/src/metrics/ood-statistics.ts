import { z } from '../config';
import { FEATURE_LEVELS } from '../blocks/block';

/**
 * The fitted Gaussian of a model's pooled encoder features (a run folder's `ood.json`): what @multichexnet/trainer's
 * `fitOodStatistics` returns and @multichexnet/export's `ood` option writes into the graph as weights of the
 * `ood_score` output (probabilistic PCA: the leading components with their variances, one residual variance off them).
 */
export const OodStatisticsSchema = z
  .object({
    /** Feature levels globally average-pooled and concatenated in this order (D values per image). */
    levels: z.array(z.enum(FEATURE_LEVELS)).min(1),
    /** Mean [D]. */
    mean: z.array(z.number()).min(2),
    /** Leading principal directions, k rows of D (unit length). */
    components: z.array(z.array(z.number())),
    /** Variance along each component [k] (each >= residualVariance). */
    variances: z.array(z.number().positive()),
    /** Variance in every direction off the components. */
    residualVariance: z.number().positive(),
    /** Films fitted on. */
    count: z.number().int().positive(),
  })
  .superRefine((s, ctx) => {
    const D = s.mean.length;
    s.components.forEach((c, i) => {
      if (c.length !== D)
        ctx.addIssue({
          code: 'custom',
          path: ['components', i],
          message: `${D} values (the length of mean), found ${c.length}`,
        });
    });
    if (s.variances.length !== s.components.length)
      ctx.addIssue({
        code: 'custom',
        path: ['variances'],
        message: `${s.components.length} variances (one per component), found ${s.variances.length}`,
      });
  });
export type OodStatistics = z.output<typeof OodStatisticsSchema>;
