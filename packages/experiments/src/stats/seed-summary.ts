/**
 * Mean and spread of a metric over training seeds, for the tables' "mean ± sd" cells.
 *
 * Self-contained: moves with the experiment code.
 */

/** A metric over seeds. */
export interface SeedSummary {
  /** Mean over the seeds where the metric is defined. */
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator, numpy's `std(ddof=1)`); NaN with fewer than 2 seeds. */
  sd: number;
  /** Seeds that entered mean and sd. */
  seeds: number;
  /** Seeds whose value was NaN (the metric undefined there), left out and counted. */
  undefinedSeeds: number;
}

/**
 * Mean and sample standard deviation of one metric's values, one per seed; NaN values are left out and counted.
 *
 * @example
 * summariseSeeds([0.71, 0.69, 0.74]);   // { mean: 0.7133, sd: 0.0252, seeds: 3, undefinedSeeds: 0 }
 */
export function summariseSeeds(values: readonly number[]): SeedSummary {
  const defined = values.filter((v) => !Number.isNaN(v));
  const n = defined.length;
  const mean = n === 0 ? Number.NaN : defined.reduce((s, v) => s + v, 0) / n;
  // Two passes (mean first): no cancellation from summing squares of large values.
  const sd = n < 2 ? Number.NaN : Math.sqrt(defined.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { mean, sd, seeds: n, undefinedSeeds: values.length - n };
}
