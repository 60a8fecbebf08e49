import type { TopLevelSpec } from 'vega-lite';
import type { HeadReliability, Reliability } from '@multichexnet/trainer';
import type { RunOod, RunTemperature } from '../run/fit-probability';

/*
 * The report's "Calibration and out-of-distribution refusal" section: expected calibration error before and after
 * temperature scaling, one reliability diagram per head (test split when the run has one, else validation), and
 * the OOD threshold with where it came from.
 */

const esc = (s: unknown): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: unknown, d = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** What the built-in heads' calibrated values are, in words; another task (a user's) is shown by its name. */
const HEADS: Readonly<Record<string, string>> = {
  cls: 'CheXCls (every class, pooled)',
  det: 'CheXDet box scores',
  seg: 'CheXSeg pixels',
};
const headName = (task: string): string => HEADS[task] ?? task;

/**
 * A reliability diagram: positive rate against mean probability per bin, before and after temperature scaling,
 * point size by count, over the diagonal of perfect calibration.
 */
export function reliabilitySpec(title: string, r: { before: Reliability; after: Reliability }): TopLevelSpec | null {
  const rows = (['before', 'after'] as const).flatMap((when) =>
    r[when].bins
      .filter((b) => b.count > 0)
      .map((b) => ({
        probability: b.meanProbability,
        positives: b.positiveRate,
        count: b.count,
        series: when === 'before' ? `T = 1 (ECE ${num(r.before.ece)})` : `scaled (ECE ${num(r.after.ece)})`,
      })),
  );
  if (rows.length === 0) return null;
  const xy = {
    x: { field: 'probability', type: 'quantitative', title: 'mean predicted probability', scale: { domain: [0, 1] } },
    y: { field: 'positives', type: 'quantitative', title: 'fraction positive', scale: { domain: [0, 1] } },
  };
  const color = { field: 'series', type: 'nominal', title: null, scale: { range: ['#9aa5b1', '#2563eb'] } };
  return {
    title,
    width: 280,
    height: 260,
    layer: [
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: '#9aa5b1' },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      { data: { values: rows }, mark: { type: 'line', strokeWidth: 1.6 }, encoding: { ...xy, color } },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, opacity: 0.9 },
        encoding: {
          ...xy,
          color,
          size: { field: 'count', type: 'quantitative', title: 'samples', scale: { range: [20, 220] } },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

/** The section's HTML; `chart` renders a spec to an SVG figure. Empty when the run has neither file. */
export async function probabilitySection(
  t: RunTemperature | null,
  ood: RunOod | null,
  chart: (spec: TopLevelSpec | null, caption?: string) => Promise<string>,
): Promise<string> {
  if (t === null && ood === null) return '';
  const parts: string[] = [];
  if (t !== null) {
    const shown: HeadReliability = t.test ?? t.val;
    const split = t.test !== undefined ? 'test' : 'validation';
    // every calibrated task the run recorded, in the model's task order
    const rows = Object.keys(t.val)
      .filter((h) => t.val[h] !== undefined)
      .map((h) => {
        // one temperature, or one per class (as the task's decoder calibrates it)
        const recorded = t.spec.tasks[h]?.temperature;
        const perClass = typeof recorded === 'object' ? Object.values(recorded) : null;
        const temp =
          perClass !== null
            ? `${perClass.length} per class (${num(Math.min(...perClass), 2)}-${num(Math.max(...perClass), 2)})`
            : num(recorded ?? Number.NaN, 3);
        return `<tr><td>${esc(headName(h))}</td><td>${temp}</td><td>${num(t.val[h]!.before.ece)} → ${num(t.val[h]!.after.ece)}</td><td>${t.test?.[h] ? `${num(t.test[h]!.before.ece)} → ${num(t.test[h]!.after.ece)}` : 'n/a'}</td><td>${(t.test ?? t.val)[h]!.after.count}</td></tr>`;
      });
    parts.push(
      `<p>Probabilities are calibrated by temperature scaling, p' = sigmoid(logit(p) / T), with T fitted on the validation split by minimum log-loss and recorded in the exported model (the runtime applies it; decisions do not change). Expected calibration error (15 equal-width bins) before → after:</p>`,
      `<table class="files"><thead><tr><th>head</th><th>temperature</th><th>ECE validation</th><th>ECE test</th><th>${split} samples</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    );
    const charts: string[] = [];
    for (const [h, r] of Object.entries(shown)) {
      if (r !== undefined)
        charts.push(
          await chart(
            reliabilitySpec(`${headName(h)}, ${split} split`, r),
            `Reliability on the ${split} split: a calibrated model lies on the diagonal.`,
          ),
        );
    }
    parts.push(`<div class="charts">${charts.join('')}</div>`);
  }
  if (ood !== null) {
    parts.push(
      `<p>Out-of-distribution refusal: the exported model scores every image against a probabilistic-PCA Gaussian of its pooled encoder features (${esc(ood.statistics.levels.join(' + '))}, ${ood.statistics.mean.length} dimensions, ${ood.statistics.components.length} components) fitted on ${ood.statistics.count} ${esc(ood.fittedOn)} films, and refuses images scoring above <b>${num(ood.threshold)}</b>: the threshold chosen on ${ood.thresholdFilms} ${esc(ood.thresholdOn)} films for a false-refusal rate of ${num(ood.targetFalseRefusal * 100, 1)}%${ood.guaranteed ? '' : ' (too few films for that rate: the largest validation score)'}. Validation scores: min ${num(ood.validation.min)}, median ${num(ood.validation.median)}, max ${num(ood.validation.max)}.</p>`,
    );
  }
  return parts.join('');
}
