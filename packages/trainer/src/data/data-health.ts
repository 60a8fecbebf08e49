import type { BadSamplePolicy } from '@multichexnet/data';
import type { PlanSource } from '../plan/plan-schema';
import type { SourceSplits, TrainingData } from './training-data';

/** What a run's data lost: the bad-sample policy and the samples it skipped, per source and in total. */
export interface DataHealth {
  /** The policy of the datasets ('fail' throws on the first bad sample, so its counts stay 0). */
  onBadSample: BadSamplePolicy;
  /** Bad label rows and distinct undecodable or non-radiograph images skipped, per source. */
  skipped: Partial<Record<PlanSource, number>>;
  /** The sum of `skipped`. */
  totalSkipped: number;
}

/**
 * The skipped-sample counts of a run's datasets, for its eval.json, eval-test.json and report. The train, val and
 * test views of a source share one counter, so each source is counted once.
 *
 * @example
 * const health = dataHealth(data); // { onBadSample: 'skip', skipped: { nih: 2, rsna: 0 }, totalSkipped: 2 }
 */
export function dataHealth(data: TrainingData): DataHealth {
  const skipped: DataHealth['skipped'] = {};
  let policy: BadSamplePolicy = 'fail';
  for (const [source, splits] of Object.entries(data) as [PlanSource, SourceSplits | undefined][]) {
    if (splits === undefined) continue;
    skipped[source] = splits.train.skipped;
    if (splits.train.onBadSample === 'skip') policy = 'skip';
  }
  return { onBadSample: policy, skipped, totalSkipped: Object.values(skipped).reduce((a, b) => a + (b ?? 0), 0) };
}
