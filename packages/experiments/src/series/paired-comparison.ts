import { DataError } from '@multichexnet/core';
import { pairedBootstrapOverSeeds, type PairedRun } from '../stats/bootstrap';
import { imageCount, metricOf, metricOn, type ImageRecords, type MetricName } from './records';
import type { Comparison, SeriesFrame } from './summary-types';

/** The bootstrap items: image i of one record set (the metric reads the set through the first item). */
interface Item {
  r: ImageRecords;
  i: number;
}

const itemsOf = (r: ImageRecords, m: MetricName): Item[] =>
  Array.from({ length: imageCount(r, m) }, (_, i) => ({ r, i }));
const setMetric =
  (m: MetricName) =>
  (items: readonly Item[]): number =>
    items.length === 0
      ? Number.NaN
      : metricOn(
          items[0]!.r,
          m,
          items.map((x) => x.i),
        );

/**
 * Paired bootstrap of metric(A) - metric(B) over the seeds of `pairs` (one record set of each per seed), named `a`
 * and `b`, resampled with the seed `<key>/<metric>`; null when no seed defines the metric on both.
 */
export function pairedComparison(
  pairs: readonly { a: ImageRecords; b: ImageRecords }[],
  m: MetricName,
  names: { a: string; b: string },
  frame: SeriesFrame,
  key: string,
): Comparison | null {
  // A seed whose test split leaves the metric undefined (e.g. no positive image) cannot enter the difference.
  const runs: PairedRun<Item>[] = pairs
    .filter((p) => !Number.isNaN(metricOf(p.a, m)) && !Number.isNaN(metricOf(p.b, m)))
    .map((p) => ({ a: itemsOf(p.a, m), b: itemsOf(p.b, m) }));
  if (runs.length === 0) return null;
  try {
    const interval = pairedBootstrapOverSeeds(runs, setMetric(m), {
      seed: `${key}/${m}`,
      resamples: frame.bootstrap.resamples,
      confidence: frame.bootstrap.confidence,
    });
    return { metric: m, ...names, interval, seeds: runs.length };
  } catch (e) {
    // A metric undefined on a seed's whole test split (e.g. no positive image) has no interval.
    if (e instanceof DataError) return null;
    throw e;
  }
}
