import { cell, markdownTable } from '../tables/markdown';
import { METRIC_INFO, type MetricName } from './records';
import type { Comparison, SeriesFrame } from './summary-types';

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

/**
 * A comparisons section of a table over seeds: its title, an optional note, the comparison table (as
 * {@link comparisonTable} renders it) and the verdict in bold.
 */
export function comparisonSection(
  title: string,
  t: { comparisons: readonly Comparison[]; verdict: string },
  options: { note?: string; confidence?: number; metricText?: (m: MetricName) => string } = {},
): string[] {
  return [
    `## ${title}`,
    '',
    ...(options.note === undefined ? [] : [options.note, '']),
    comparisonTable(t.comparisons, options.confidence, options.metricText),
    '',
    `**${t.verdict}**`,
    '',
  ];
}

/** `<n> of <planned> planned seeds (<seeds>; not run yet: <the others>)`. */
export function seedsText(f: SeriesFrame): string {
  const missing = f.plannedSeeds.filter((s) => !f.seeds.includes(s));
  return `${f.seeds.length} of ${f.plannedSeeds.length} planned seeds (${f.seeds.join(', ') || 'none'}${missing.length > 0 ? `; not run yet: ${missing.join(', ')}` : ''})`;
}
