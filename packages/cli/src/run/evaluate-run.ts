import type { Dataset } from '@multichexnet/data';
import { gateRoc } from '@multichexnet/gating';
import { clsTask, rocCurve } from '@multichexnet/head-cls';
import { detTask, precisionRecallCurve } from '@multichexnet/head-det';
import { diceScore, segTask } from '@multichexnet/head-seg';
import type { Gating, MultiCheXNet } from '@multichexnet/model';
import {
  calibrate,
  dataHealth,
  evalSummary,
  evaluate,
  PLAN_SOURCES,
  taskMetrics,
  taskRecords,
  type EvalResult,
  type EvalSets,
  type TrainingData,
  type TrainingPlan,
} from '@multichexnet/trainer';
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
  for (const s of PLAN_SOURCES) if (data[s] !== undefined) out[s] = data[s]![split];
  return out;
}

/** ROC per class from the collected labels and scores (NaN labels left out), AUROC from the trainer's metrics. */
function classRocs(r: EvalResult, classes: readonly string[]): ClassRoc[] {
  const records = taskRecords(r.raw, clsTask);
  const metrics = taskMetrics(r, clsTask);
  return classes.map((name, c) => {
    const y: number[] = [];
    const s: number[] = [];
    records.forEach(({ labels, scores }) => {
      if (!Number.isNaN(labels[c]!)) {
        y.push(labels[c]!);
        s.push(scores[c]!);
      }
    });
    const positives = y.filter((v) => v === 1).length;
    const negatives = y.length - positives;
    const auroc = metrics?.perClassAuroc[name] ?? Number.NaN;
    const points =
      positives > 0 && negatives > 0 ? thinCurve(rocCurve(y, s).map((p) => ({ fpr: p.fpr, tpr: p.tpr }))) : [];
    return { name, auroc, positives, negatives, points };
  });
}

/** `evaluate` over the images of `sets`, its progress counted in decoded images. */
async function evaluateCounted(
  sets: EvalSets,
  label: string,
  reporter: Reporter,
  run: (sets: EvalSets) => Promise<EvalResult>,
): Promise<EvalResult> {
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
 * const cal = await calibrateRun({ model, plan, data, reporter });   // cal?.tasks.det?.scoreThreshold, cal?.tasks.seg?.minArea
 */
export async function calibrateRun(args: {
  model: MultiCheXNet;
  plan: TrainingPlan;
  data: TrainingData;
  gating?: Gating;
  reporter: Reporter;
}): Promise<RunCalibration | null> {
  const sets = splitSets(args.data, 'val');
  if (Object.values(sets).every((d) => d === undefined || d.size === 0)) return null;
  const r = await evaluateCounted(sets, 'calibrate (val)', args.reporter, (counted) =>
    evaluate(args.model, counted, {
      imageSize: args.plan.imageSize,
      preprocess: args.plan.preprocess,
      ...(args.gating !== undefined ? { gating: args.gating } : {}),
    }),
  );
  return { chosenOn: 'val', gating: r.gating, tasks: calibrate(r.raw, args.model) };
}

/** The calibration's settings as `evaluate` options (`chosenOn` / `gating` are only provenance). */
export function calibrationOptions(c: RunCalibration | null | undefined): { settings?: RunCalibration['tasks'] } {
  return c === null || c === undefined ? {} : { settings: c.tasks };
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
 * e.metrics.det?.mAP; e.calibration?.tasks.det?.scoreThreshold; e.curves.roc?.[0].points;
 */
export async function evaluateRun(args: {
  model: MultiCheXNet;
  plan: TrainingPlan;
  data: TrainingData;
  split: 'test' | 'val';
  gating?: Gating;
  calibration: RunCalibration | null;
  reporter: Reporter;
}): Promise<TestEvaluation & Required<Pick<TestEvaluation, 'data' | 'calibration'>>> {
  const gating = args.gating;
  const r = await evaluateCounted(
    splitSets(args.data, args.split),
    `evaluate (${args.split})`,
    args.reporter,
    (counted) =>
      evaluate(args.model, counted, {
        imageSize: args.plan.imageSize,
        preprocess: args.plan.preprocess,
        ...(gating !== undefined ? { gating } : {}),
        ...calibrationOptions(args.calibration),
      }),
  );
  // The report's plots of the built-in heads: ROC per class, detection precision-recall, per-image Dice.
  const curves: TestEvaluation['curves'] = {};
  const cls = args.model.headOf(clsTask);
  const det = taskMetrics(r, detTask);
  if (cls !== undefined && taskMetrics(r, clsTask) !== undefined) curves.roc = classRocs(r, cls.config.classes);
  if (det !== undefined) {
    const pr = precisionRecallCurve(taskRecords(r.raw, detTask), 0.5);
    curves.pr = {
      iou: 0.5,
      ap: det.ap50,
      truthCount: pr.truthCount,
      points: thinCurve(
        pr.points.map((p) => ({ recall: p.recall, precision: p.precision, score: p.score })),
        300,
      ),
    };
  }
  if (taskMetrics(r, segTask) !== undefined) {
    const seg = taskRecords(r.raw, segTask);
    curves.dice = {
      values: seg.map((s) => diceScore(s.prediction, s.truth)),
      positive: seg.map((s) => s.truth.data.some((v) => v !== 0)),
    };
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
  const { gating: _gating, gate: _gate, ...tasks } = evalSummary(r);
  const metrics: TestEvaluation['metrics'] = tasks as TestEvaluation['metrics'];
  if (r.gate) {
    const { bySource: _bySource, ...gate } = r.gate;
    metrics.gate = gate;
  }
  // after the evaluation: the count includes the bad images it met in this split
  return {
    format: 'multichexnet-eval',
    split: args.split,
    gating: r.gating,
    calibration: args.calibration,
    metrics,
    curves,
    data: dataHealth(args.data),
  };
}
