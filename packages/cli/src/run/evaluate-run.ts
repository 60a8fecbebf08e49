import type { Dataset } from '@multichexnet/data';
import { gateRoc } from '@multichexnet/gating';
import { rocCurve } from '@multichexnet/head-cls';
import { precisionRecallCurve } from '@multichexnet/head-det';
import { diceScore } from '@multichexnet/head-seg';
import { calibrate, dataHealth, evaluate, type EvalResult, type EvalSets, type Gating, type HeadSet, type MultiCheXNet, type TrainingData, type TrainingPlan } from '@multichexnet/trainer';
import type { Reporter } from '../io/progress';
import { thinCurve } from '../report/charts';
import type { ClassRoc, RunCalibration, TestEvaluation } from '../report/report-data';

/** A dataset view that calls `onRead` whenever a sample is decoded (the evaluation's progress). */
function counting(ds: Dataset, onRead: () => void): Dataset {
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop === 'get') {
        return async (i: number) => {
          const s = await target.get(i);
          onRead();
          return s;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The split `split` of every source present. */
export function splitSets(data: TrainingData, split: 'test' | 'val'): EvalSets {
  const out: EvalSets = {};
  for (const s of ['nih', 'rsna', 'siim'] as const) if (data[s] !== undefined) out[s] = data[s]![split];
  return out;
}

/** ROC per class from the collected labels and scores (NaN labels left out), AUROC from the trainer's metrics. */
function classRocs(r: EvalResult): ClassRoc[] {
  const { labels, scores, classes } = r.raw.cls;
  return classes.map((name, c) => {
    const y: number[] = [];
    const s: number[] = [];
    labels.forEach((row, i) => {
      if (!Number.isNaN(row[c]!)) {
        y.push(row[c]!);
        s.push(scores[i]![c]!);
      }
    });
    const positives = y.filter((v) => v === 1).length;
    const negatives = y.length - positives;
    const auroc = r.cls?.perClassAuroc[name] ?? Number.NaN;
    const points = positives > 0 && negatives > 0 ? thinCurve(rocCurve(y, s).map((p) => ({ fpr: p.fpr, tpr: p.tpr }))) : [];
    return { name, auroc, positives, negatives, points };
  });
}

/** `evaluate` over the images of `sets`, its progress counted in decoded images. */
async function evaluateCounted(sets: EvalSets, label: string, reporter: Reporter, run: (sets: EvalSets) => Promise<EvalResult>): Promise<EvalResult> {
  const total = Object.values(sets).reduce((a, d) => a + (d?.size ?? 0), 0);
  const task = reporter.task(label, total, 'images');
  let done = 0;
  const tick = (): void => task.update(++done);
  const counted: EvalSets = {};
  for (const [k, d] of Object.entries(sets) as [keyof EvalSets, Dataset][]) counted[k] = counting(d, tick);
  const r = await run(counted);
  task.finish();
  return r;
}

/**
 * Chooses the decision settings of a trained model on the run's validation split, exactly as Table 1 does
 * (@multichexnet/trainer's `calibrate` over the same search grids, under the same gating as the evaluation):
 * per-class F1 thresholds, the box score threshold of the RSNA mAP, the minimum mask area of the SIIM Dice.
 * Null when the split has no validation images. The gate threshold is not among them: training already chose it
 * on validation for the plan's target sensitivity and it travels with the weights.
 *
 * @example
 * const cal = await calibrateRun({ model, plan, data, reporter });   // cal?.detScoreThreshold, cal?.segMinArea
 */
export async function calibrateRun(args: { model: MultiCheXNet<HeadSet>; plan: TrainingPlan; data: TrainingData; gating?: Gating; reporter: Reporter }): Promise<RunCalibration | null> {
  const sets = splitSets(args.data, 'val');
  if (Object.values(sets).every((d) => d === undefined || d.size === 0)) return null;
  const r = await evaluateCounted(sets, 'calibrate (val)', args.reporter, (counted) =>
    evaluate(args.model, counted, { imageSize: args.plan.imageSize, preprocess: args.plan.preprocess, ...(args.gating !== undefined ? { gating: args.gating } : {}) }),
  );
  return { chosenOn: 'val', gating: r.gating, ...calibrate(r.raw) };
}

/** The calibration's settings as `evaluate` options (`chosenOn` / `gating` are only provenance). */
export function calibrationOptions(c: RunCalibration | null | undefined): { f1Threshold?: Record<string, number>; detScoreThreshold?: number; segMinArea?: number } {
  if (c === null || c === undefined) return {};
  return {
    ...(c.f1Threshold !== undefined ? { f1Threshold: c.f1Threshold } : {}),
    ...(c.detScoreThreshold !== undefined ? { detScoreThreshold: c.detScoreThreshold } : {}),
    ...(c.segMinArea !== undefined ? { segMinArea: c.segMinArea } : {}),
  };
}

/**
 * Evaluates a trained model on one split with @multichexnet/trainer's `evaluate` (gated pipeline semantics) and
 * derives what the report plots from its per-image material: ROC per class, detection precision-recall at
 * IoU 0.5, per-image Dice, the gate's ROC and operating point. Progress counts decoded images. The decision
 * settings are `calibration`'s (chosen on validation by {@link calibrateRun}; null: the defaults, F1 at 0.5, the det
 * head's score threshold, no minimum mask area) and are recorded in the result.
 *
 * @example
 * const calibration = await calibrateRun({ model, plan, data, reporter });
 * const e = await evaluateRun({ model, plan, data, split: 'test', calibration, reporter });
 * e.metrics.det?.mAP; e.calibration?.detScoreThreshold; e.curves.roc?.[0].points;
 */
export async function evaluateRun(args: {
  model: MultiCheXNet<HeadSet>;
  plan: TrainingPlan;
  data: TrainingData;
  split: 'test' | 'val';
  gating?: Gating;
  calibration: RunCalibration | null;
  reporter: Reporter;
}): Promise<TestEvaluation & Required<Pick<TestEvaluation, 'data' | 'calibration'>>> {
  const gating = args.gating;
  const r = await evaluateCounted(splitSets(args.data, args.split), `evaluate (${args.split})`, args.reporter, (counted) =>
    evaluate(args.model, counted, { imageSize: args.plan.imageSize, preprocess: args.plan.preprocess, ...(gating !== undefined ? { gating } : {}), ...calibrationOptions(args.calibration) }),
  );
  const curves: TestEvaluation['curves'] = {};
  if (r.cls) curves.roc = classRocs(r);
  if (r.det) {
    const pr = precisionRecallCurve(r.raw.det, 0.5);
    curves.pr = { iou: 0.5, ap: r.det.ap50, truthCount: pr.truthCount, points: thinCurve(pr.points.map((p) => ({ recall: p.recall, precision: p.precision, score: p.score })), 300) };
  }
  if (r.seg) {
    curves.dice = { values: r.raw.seg.map((s) => diceScore(s.prediction, s.truth)), positive: r.raw.seg.map((s) => s.truth.data.some((v) => v !== 0)) };
  }
  if (r.gate && r.raw.gate.labels.includes(1) && r.raw.gate.labels.includes(0)) {
    const g = r.gate;
    const negatives = g.falsePositives + g.trueNegatives;
    curves.gateRoc = {
      auroc: g.auroc,
      threshold: g.threshold,
      points: thinCurve(gateRoc(r.raw.gate.scores, r.raw.gate.labels).points.map((p) => ({ fpr: p.fpr, tpr: p.tpr }))),
      operating: { fpr: negatives > 0 ? g.falsePositives / negatives : 0, tpr: g.sensitivity },
    };
  }
  const metrics: TestEvaluation['metrics'] = {};
  if (r.cls) metrics.cls = r.cls;
  if (r.det) metrics.det = r.det;
  if (r.seg) metrics.seg = r.seg;
  if (r.gate) {
    const { bySource: _bySource, ...gate } = r.gate;
    metrics.gate = gate;
  }
  // after the evaluation: the count includes the bad images it met in this split
  return { format: 'multichexnet-eval', split: args.split, gating: r.gating, calibration: args.calibration, metrics, curves, data: dataHealth(args.data) };
}
