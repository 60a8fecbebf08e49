import { cell, markdownTable } from '../tables/markdown';
import { METRIC_INFO, type MetricName } from './records';
import type { Comparison } from './summary-types';

const signed = (v: number): string => `${v >= 0 ? '+' : ''}${cell(v)}`;

/**
 * Comparisons as a Markdown table: A, B, the metric (its label, or what `metricText` makes of it), A − B, the
 * interval (headed `<confidence> CI` when the confidence is given), the verdict and the seeds.
 */
export function comparisonTable(
  cs: readonly Comparison[],
  confidence?: number,
  metricText: (m: MetricName) => string = (m) => METRIC_INFO[m].label,
): string {
  const ci = confidence === undefined ? 'CI' : `${Math.round(confidence * 100)}% CI`;
  return markdownTable(
    ['A', 'B', 'metric', 'A − B', ci, 'verdict', 'seeds'],
    cs.map((c) => [
      c.a,
      c.b,
      metricText(c.metric),
      signed(c.interval.difference),
      `[${signed(c.interval.low)}, ${signed(c.interval.high)}]`,
      c.interval.verdict,
      String(c.seeds),
    ]),
  );
}
