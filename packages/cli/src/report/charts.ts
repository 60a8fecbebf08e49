import type { TopLevelSpec } from 'vega-lite';
import type { ClassRoc, MetricsRecord, RocPointData, TestEvaluation } from './report-data';

/** At most `n` points of a curve, evenly spaced by index, first and last kept (curves stay faithful, SVGs small). */
export function thinCurve<T>(points: readonly T[], n = 240): T[] {
  if (points.length <= n) return points.slice();
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(points[Math.round((i * (points.length - 1)) / (n - 1))]!);
  return out;
}

const fmt = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** Training losses per task over the run's global step, one panel per loss, coloured by phase. */
export function lossCurvesSpec(records: readonly MetricsRecord[]): TopLevelSpec | null {
  const rows: { step: number; phase: string; loss: string; value: number }[] = [];
  for (const r of records) {
    if (r.type !== 'step') continue;
    const phase = r.phase ?? '';
    const step = r.globalStep ?? r.step ?? 0;
    // A fine-tuning run logs one `loss` (the new decoder's BCE) instead of per-task `losses`.
    const losses = r.losses ?? (typeof r.loss === 'number' ? { cls: r.loss } : {});
    for (const [loss, value] of Object.entries(losses))
      if (Number.isFinite(value)) rows.push({ step, phase, loss: `${loss} loss`, value });
    if (r.total !== undefined && Number.isFinite(r.total) && Object.keys(losses).length > 1)
      rows.push({ step, phase, loss: 'weighted total', value: r.total });
  }
  if (rows.length === 0) return null;
  const losses = [...new Set(rows.map((r) => r.loss))];
  return {
    data: { values: rows },
    facet: { field: 'loss', type: 'nominal', title: null, sort: losses },
    columns: Math.min(4, losses.length),
    spec: {
      width: 250,
      height: 160,
      mark: { type: 'line', strokeWidth: 1.6, point: { size: 14 } },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'global step' },
        y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: { field: 'phase', type: 'nominal', title: 'phase', sort: [...new Set(rows.map((r) => r.phase))] },
        detail: { field: 'phase' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Validation metrics recorded during training (the trainer's `eval` records), one line per metric. */
export function validationCurvesSpec(records: readonly MetricsRecord[]): TopLevelSpec | null {
  const rows: { step: number; phase: string; metric: string; value: number }[] = [];
  for (const r of records) {
    if (r.type !== 'eval') continue;
    for (const [k, v] of Object.entries(r)) {
      if (/^(cls|det|seg|gate)\./.test(k) && typeof v === 'number' && Number.isFinite(v))
        rows.push({ step: r.globalStep ?? r.step ?? 0, phase: r.phase ?? '', metric: k, value: v });
    }
  }
  if (rows.length === 0) return null;
  return {
    data: { values: rows },
    width: 560,
    height: 220,
    mark: { type: 'line', point: true, strokeWidth: 1.6 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'global step' },
      y: { field: 'value', type: 'quantitative', title: 'validation score', scale: { domain: [0, 1] } },
      color: { field: 'metric', type: 'nominal', title: 'metric' },
      detail: { field: 'phase' },
      tooltip: [{ field: 'phase' }, { field: 'metric' }, { field: 'value', format: '.3f' }],
    },
  } as TopLevelSpec;
}

function diagonal(): Record<string, unknown> {
  return {
    mark: { type: 'rule', strokeDash: [4, 4], color: '#9aa5b1' },
    encoding: { x: { datum: 0 }, y: { datum: 0 }, x2: { datum: 1 }, y2: { datum: 1 } },
  };
}

/** One ROC panel per class with its AUROC in the panel title (classes without both labels are left out). */
export function rocPanelsSpec(rocs: readonly ClassRoc[]): TopLevelSpec | null {
  const usable = rocs.filter((r) => Number.isFinite(r.auroc) && r.points.length > 1);
  if (usable.length === 0) return null;
  const rows = usable.flatMap((r) =>
    thinCurve(r.points, 120).map((p) => ({
      panel: `${r.name}  AUROC ${fmt(r.auroc)}  (n+ ${r.positives})`,
      fpr: p.fpr,
      tpr: p.tpr,
    })),
  );
  return {
    data: { values: rows },
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: usable.map((r) => `${r.name}  AUROC ${fmt(r.auroc)}  (n+ ${r.positives})`),
    },
    columns: 4,
    spec: {
      width: 150,
      height: 150,
      layer: [
        diagonal(),
        {
          mark: { type: 'line', color: '#2563eb', strokeWidth: 1.8, interpolate: 'step-after' },
          encoding: {
            x: { field: 'fpr', type: 'quantitative', title: 'false positive rate', scale: { domain: [0, 1] } },
            y: { field: 'tpr', type: 'quantitative', title: 'true positive rate', scale: { domain: [0, 1] } },
          },
        },
      ],
    },
  } as unknown as TopLevelSpec;
}

/** Per-class AUROC as horizontal bars, sorted, with the 0.5 chance line. */
export function aurocBarsSpec(rocs: readonly ClassRoc[], mean: number): TopLevelSpec | null {
  const rows = rocs.filter((r) => Number.isFinite(r.auroc)).map((r) => ({ class: r.name, auroc: r.auroc }));
  if (rows.length === 0) return null;
  return {
    title: `Per-class AUROC (mean ${fmt(mean)})`,
    width: 420,
    height: { step: 18 },
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar', color: '#2563eb' },
        encoding: {
          y: { field: 'class', type: 'nominal', sort: '-x', title: null },
          x: { field: 'auroc', type: 'quantitative', scale: { domain: [0, 1] }, title: 'AUROC' },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#1f2933' },
        encoding: {
          y: { field: 'class', type: 'nominal', sort: '-x' },
          x: { field: 'auroc', type: 'quantitative' },
          text: { field: 'auroc', format: '.3f' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#dc2626' }, encoding: { x: { datum: 0.5 } } },
    ],
  } as unknown as TopLevelSpec;
}

/** Precision-recall of the detections at IoU 0.5. */
export function prCurveSpec(pr: NonNullable<TestEvaluation['curves']['pr']>): TopLevelSpec | null {
  if (pr.points.length === 0) return null;
  const rows = [{ recall: 0, precision: pr.points[0]!.precision, score: pr.points[0]!.score }, ...thinCurve(pr.points)];
  return {
    title: `Precision-recall at IoU ${pr.iou} (AP ${fmt(pr.ap)}, ${pr.truthCount} truth boxes)`,
    width: 360,
    height: 260,
    data: { values: rows },
    mark: {
      type: 'line',
      interpolate: 'step-after',
      color: '#dc2626',
      strokeWidth: 1.8,
      point: { size: 12, color: '#dc2626' },
    },
    encoding: {
      x: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] } },
      y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] } },
    },
  } as TopLevelSpec;
}

/** Histogram of per-image Dice, stacked by whether the image has a pneumothorax. */
export function diceHistogramSpec(dice: NonNullable<TestEvaluation['curves']['dice']>): TopLevelSpec | null {
  if (dice.values.length === 0) return null;
  const rows = dice.values.map((v, i) => ({ dice: v, truth: dice.positive[i] ? 'pneumothorax' : 'no pneumothorax' }));
  return {
    title: `Per-image Dice (${dice.values.length} SIIM test images)`,
    width: 360,
    height: 220,
    data: { values: rows },
    mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'dice', type: 'quantitative', bin: { extent: [0, 1], step: 0.05 }, title: 'Dice' },
      y: { aggregate: 'count', type: 'quantitative', title: 'images' },
      color: {
        field: 'truth',
        type: 'nominal',
        title: 'ground truth',
        scale: { domain: ['pneumothorax', 'no pneumothorax'], range: ['#dc2626', '#9aa5b1'] },
      },
    },
  } as TopLevelSpec;
}

/** The gate's ROC with its operating point (the threshold chosen on validation data). */
export function gateRocSpec(g: NonNullable<TestEvaluation['curves']['gateRoc']>): TopLevelSpec | null {
  if (g.points.length < 2) return null;
  const op: RocPointData = g.operating;
  return {
    title: `Gate ROC (AUROC ${fmt(g.auroc)}), operating point at threshold ${fmt(g.threshold, 3)}`,
    width: 300,
    height: 260,
    layer: [
      diagonal(),
      {
        data: { values: thinCurve(g.points) },
        mark: { type: 'line', interpolate: 'step-after', color: '#9333ea', strokeWidth: 1.8 },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'false positive rate', scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: 'true positive rate', scale: { domain: [0, 1] } },
        },
      },
      {
        data: { values: [op] },
        mark: { type: 'point', filled: true, size: 80, color: '#ea580c' },
        encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' } },
      },
      {
        data: { values: [{ ...op, label: `sens ${fmt(op.tpr, 2)}, spec ${fmt(1 - op.fpr, 2)}` }] },
        mark: { type: 'text', align: 'left', dx: 8, dy: 10, fontSize: 11, color: '#ea580c' },
        encoding: {
          x: { field: 'fpr', type: 'quantitative' },
          y: { field: 'tpr', type: 'quantitative' },
          text: { field: 'label' },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}
