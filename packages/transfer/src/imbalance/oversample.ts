import { DataError, createRng } from '@multichexnet/core';

/** What {@link oversampleIndices} did, per label pattern. */
export interface OversampleSummary {
  /** Samples before and after. */
  before: number;
  after: number;
  /** One entry per distinct label pattern (e.g. `1` / `0` for one class, `1,0` for two): its count before and after. */
  groups: { pattern: string; before: number; after: number }[];
}

/**
 * Random oversampling on label patterns (the label-powerset form of random oversampling for multi-label data):
 * samples are grouped by their label row (`1`, `0`, `NaN` per class), and every group smaller than `ratio` times the
 * largest group is topped up with duplicates of its own samples: whole copies first, then a seeded draw without
 * replacement for the rest, so no sample is repeated more than one time more than another of its group. Every
 * original sample stays exactly once. Returns indices into `labels` (sorted), ready for `dataset.subset`.
 *
 * Hand-written: the rule is a few lines, and the npm registry offers no maintained resampling library to lean on.
 *
 * @example
 * oversampleIndices([[1], [0], [0], [0]], { seed: 1 }).indices;   // [0, 0, 0, 1, 2, 3]: three positives, three negatives
 */
export function oversampleIndices(
  labels: readonly ArrayLike<number>[],
  options: { seed: number; ratio?: number },
): { indices: number[]; summary: OversampleSummary } {
  const ratio = options.ratio ?? 1;
  if (!(ratio > 0 && ratio <= 1)) {
    throw new DataError('Oversampling ratio must be in (0, 1]', {
      field: 'ratio',
      expected: 'a fraction of the largest group, in (0, 1]',
      found: String(ratio),
    });
  }
  if (labels.length === 0)
    throw new DataError('Cannot oversample an empty training set', {
      field: 'labels',
      expected: 'at least one sample',
      found: '0',
    });
  const groups = new Map<string, number[]>();
  labels.forEach((row, i) => {
    const key = Array.from(row, (y) => (Number.isNaN(y) ? 'NaN' : y >= 0.5 ? '1' : '0')).join(',');
    const g = groups.get(key) ?? [];
    g.push(i);
    groups.set(key, g);
  });
  const largest = Math.max(...[...groups.values()].map((g) => g.length));
  const target = Math.max(1, Math.round(ratio * largest));
  const rng = createRng(options.seed);
  const indices: number[] = [];
  const summary: OversampleSummary = { before: labels.length, after: 0, groups: [] };
  // Sorted patterns: the draws do not depend on the order in which groups were met.
  for (const pattern of [...groups.keys()].sort()) {
    const members = groups.get(pattern)!;
    const out = [...members];
    const missing = Math.max(0, target - members.length);
    for (let k = 0; k < Math.floor(missing / members.length); k++) out.push(...members);
    out.push(...rng.shuffle(members).slice(0, missing % members.length));
    indices.push(...out);
    summary.groups.push({ pattern, before: members.length, after: out.length });
  }
  indices.sort((a, b) => a - b);
  summary.after = indices.length;
  return { indices, summary };
}
