/** Spread of one metric over repeats. */
export interface Spread {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for one value. */
  std: number;
  min: number;
  max: number;
  /** Values that were defined (finite) / all values. */
  n: number;
  of: number;
}

/** Mean, sample std, min and max of the finite values (NaN entries are counted in `of` only). */
export function spreadOf(values: readonly number[]): Spread {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length === 0)
    return { mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0, of: values.length };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const variance = ok.length > 1 ? ok.reduce((a, b) => a + (b - mean) ** 2, 0) / (ok.length - 1) : 0;
  return {
    mean,
    std: Math.sqrt(variance),
    min: Math.min(...ok),
    max: Math.max(...ok),
    n: ok.length,
    of: values.length,
  };
}
