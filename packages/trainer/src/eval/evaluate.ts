import { DataError, tf, type AnyTaskSpec, type TaskSpec } from '@multichexnet/core';
import { PATHOLOGIES, type Dataset } from '@multichexnet/data';
import { gateMetrics, gateRoc, gateTargets } from '@multichexnet/gating';
import { GATE_BLOCK, type Gating, type ImagePrediction, type MultiCheXNet } from '@multichexnet/model';
import { PLAN_SOURCES, type PlanSource } from '../plan/plan-schema';
import { evaluationBatches, type EvalPassOptions } from './eval-batches';

/** Evaluation sets by source (usually the test or val splits). */
export type EvalSets = Partial<Record<PlanSource, Dataset>>;

/** Which sources each task (by name) and the gate (`gate`) are evaluated on. */
export type EvalSources = Readonly<Record<string, readonly PlanSource[]>>;

/** Decision settings per task over the heads' own (e.g. chosen on validation data by {@link calibrate}). */
export type DecisionSettings = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** Options of {@link evaluate}. */
export interface EvaluateOptions extends EvalPassOptions {
  /**
   * Gating of the routed tasks (det / seg): `gate` (default with a gate: predictions only for gate-positive images,
   * the rest empty, so gate false positives get predictions and false negatives none), `truth` (only truly positive
   * images), `none`.
   */
  gating?: Gating;
  /**
   * By task name and `gate`. Default: each task on its spec's default source (cls on nih, else every source present;
   * det on rsna; seg on siim), the gate on the routed tasks' sources.
   */
  sources?: EvalSources;
  /**
   * The decision settings the metrics are computed with, by task, over each head's own: e.g. `{ cls: { thresholds },
   * det: { scoreThreshold }, seg: { minArea } }` from {@link calibrate} on validation data. Predictions are collected
   * with each spec's `collectSettings` (every box down to score 0.01), so one evaluation serves any threshold.
   */
  settings?: DecisionSettings;
  /** Labels that define a gate positive (default the gate's classes, else Pneumonia and Pneumothorax). */
  gateClasses?: readonly string[];
}

/** Gate metrics at its current threshold. */
export interface GateEval {
  threshold: number;
  sensitivity: number;
  specificity: number;
  /** AUROC of the gate probability against the gate labels. */
  auroc: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
  count: number;
  /** Per source. */
  bySource: Partial<Record<PlanSource, { sensitivity: number; specificity: number; count: number }>>;
}

/** What {@link evaluate} returns. */
export interface EvalResult {
  gating: Gating;
  /** Each task's metrics by task name, as its spec computes them (CheXCls mean AUROC, CheXDet RSNA mAP, ...). */
  metrics: Record<string, object>;
  gate?: GateEval;
  /** The raw material, for baselines, calibration and further analysis. */
  raw: EvalRaw;
}

/** Per-image records collected by {@link evaluate}. */
export interface EvalRaw {
  /**
   * Per task, one record per counted image, as its spec builds them (cls labels + scores, det boxes, seg masks, ...).
   */
  tasks: Record<string, unknown[]>;
  gate: { scores: number[]; labels: number[]; positive: boolean[]; sources: PlanSource[] };
}

/** The metrics type of a spec. */
export type MetricsOf<S> = S extends TaskSpec<infer _H, infer _T, infer _P, infer _S, infer M, infer _R> ? M : never;
/** The evaluation record type of a spec. */
export type RecordOf<S> = S extends TaskSpec<infer _H, infer _T, infer _P, infer _S, infer _M, infer R> ? R : never;

/**
 * A task's metrics in an evaluation, typed by its spec; undefined when the task was not evaluated.
 *
 * @example
 * taskMetrics(result, detTask)?.mAP;
 */
export function taskMetrics<S extends AnyTaskSpec>(
  result: Pick<EvalResult, 'metrics'>,
  spec: S,
): MetricsOf<S> | undefined {
  return result.metrics[spec.name] as MetricsOf<S> | undefined;
}

/** A task's records in an evaluation's raw material, typed by its spec ([] when it has none). */
export function taskRecords<S extends AnyTaskSpec>(raw: EvalRaw, spec: S): RecordOf<S>[] {
  return (raw.tasks[spec.name] ?? []) as RecordOf<S>[];
}

/**
 * An evaluation's numbers as run files store them (`eval.json`, the CLI's test evaluation): the gating, each task's
 * metrics under its name, the gate's under `gate`.
 */
export function evalSummary(r: Pick<EvalResult, 'gating' | 'metrics' | 'gate'>): Record<string, unknown> {
  return { gating: r.gating, ...r.metrics, ...(r.gate !== undefined ? { [GATE_BLOCK]: r.gate } : {}) };
}

/** The sources the gate is evaluated on: those of the model's routed tasks (every source when it has none). */
export function gateSources(model: MultiCheXNet, present: readonly PlanSource[]): PlanSource[] {
  const routed = model.taskSpecs.filter((s) => s.routed).map((s) => s.defaultSource.name);
  return routed.length === 0 ? [...present] : present.filter((s) => routed.includes(s));
}

/**
 * The sources a task is evaluated (and calibrated) on by default: its spec's default source when present, else every
 * source present for an `any-source` task (CheXCls), else none.
 */
export function taskSources<S extends string>(spec: AnyTaskSpec, present: readonly S[]): S[] {
  const { name, fallback } = spec.defaultSource;
  return present.includes(name as S) ? [name as S] : fallback === 'any-source' ? [...present] : [];
}

function defaultSources(data: EvalSets, model: MultiCheXNet): Record<string, PlanSource[]> {
  const present = PLAN_SOURCES.filter((s) => data[s] !== undefined);
  const out: Record<string, PlanSource[]> = {};
  for (const spec of model.taskSpecs) out[spec.name] = taskSources(spec, present);
  out[GATE_BLOCK] = model.gate !== null ? gateSources(model, present) : [];
  return out;
}

/**
 * Evaluates a model on held-out data with the gated pipeline's semantics, each task by its spec (CheXCls per-class
 * AUROC, mean AUROC and macro F1; CheXDet RSNA mAP and AP@0.5; CheXSeg SIIM mean Dice; a user task its own) and the
 * gate's sensitivity / specificity / AUROC. Routed tasks predict only for the images the gating lets through
 * (`gate`, `truth`) and are empty for the rest.
 *
 * @example
 * const r = await evaluate(model, { nih: data.nih.test, rsna: data.rsna.test, siim: data.siim.test }, { imageSize: 128 });
 * taskMetrics(r, clsTask)?.meanAuroc; taskMetrics(r, detTask)?.mAP; r.gate?.sensitivity;
 */
export async function evaluate(model: MultiCheXNet, data: EvalSets, options: EvaluateOptions): Promise<EvalResult> {
  const gating: Gating = options.gating ?? (model.gate !== null ? 'gate' : 'none');
  if (gating === 'gate' && model.gate === null) {
    throw new DataError('Gated evaluation needs a model with a gate', {
      field: 'gating',
      expected: "'none' or 'truth' for a model without a gate",
      found: 'gate',
    });
  }
  const sources: EvalSources = { ...defaultSources(data, model), ...(options.sources ?? {}) };
  const gateClasses =
    options.gateClasses ??
    (model.gate?.config.kind === 'cls-path' ? model.gate.config.classes : ['Pneumonia', 'Pneumothorax']);
  const raw: EvalRaw = {
    tasks: Object.fromEntries(model.tasks.map((t) => [t, []])),
    gate: { scores: [], labels: [], positive: [], sources: [] },
  };
  const collect = Object.fromEntries(
    model.taskSpecs.flatMap((s) =>
      s.evaluation.collectSettings !== undefined ? [[s.name, s.evaluation.collectSettings]] : [],
    ),
  );
  const all = new Set<PlanSource>(Object.values(sources).flat());
  for (const source of all) {
    const ds = data[source];
    if (ds === undefined)
      throw new DataError('No evaluation set for a requested source', {
        field: `data.${source}`,
        expected: 'a Dataset',
        found: 'missing',
      });
    const does = (name: string): boolean => sources[name]?.includes(source) === true;
    const unrouted = model.taskSpecs.filter((s) => !s.routed && does(s.name));
    const routed = model.taskSpecs.filter((s) => s.routed && does(s.name));
    const stream = evaluationBatches(ds, options, PATHOLOGIES);
    const C = PATHOLOGIES.length;
    for await (const batch of stream) {
      const B = batch.size;
      const S = batch.imageSize;
      const targets = new Map<AnyTaskSpec, unknown[]>(
        [...unrouted, ...routed].map((s) => [s, s.targets.fromBatch(batch, model.heads[s.name])]),
      );
      const images = tf.tensor4d(batch.images, [B, S, S, 1]);
      try {
        const runs: { tasks: AnyTaskSpec[]; truth?: boolean[] }[] = [];
        if (gating === 'truth' && routed.length > 0) {
          routed.forEach((spec, i) =>
            runs.push({
              tasks: i === 0 ? [...unrouted, spec] : [spec],
              truth: targets.get(spec)!.map((t) => t !== null && spec.targets.isPositive(t)),
            }),
          );
        } else {
          runs.push({ tasks: [...unrouted, ...routed] });
        }
        let gateRun: ImagePrediction[] | null = null;
        for (const r of runs) {
          // Gating only concerns routed tasks: a run without them (or a truth run) needs no other decision.
          const g: Gating = r.truth !== undefined ? 'truth' : r.tasks.some((t) => t.routed) ? gating : 'none';
          const preds = model.predict(images, {
            gating: g,
            tasks: r.tasks.map((t) => t.name),
            ...(r.truth ? { truthPositive: r.truth } : {}),
            decode: collect,
          });
          if (preds[0]?.gate !== undefined && gateRun === null) gateRun = preds;
          for (const spec of r.tasks) {
            const head = model.heads[spec.name];
            targets.get(spec)!.forEach((target, b) => {
              if (target === null) return;
              const record = spec.evaluation.record(target, preds[b]!, head);
              if (record !== null) raw.tasks[spec.name]!.push(record);
            });
          }
        }
        if (does(GATE_BLOCK) && gateRun !== null) {
          const rows = Array.from({ length: B }, (_, b) => batch.labels.subarray(b * C, (b + 1) * C));
          const labels = gateTargets(rows, PATHOLOGIES, gateClasses);
          gateRun.forEach((p, b) => {
            if (Number.isNaN(labels[b]!)) return;
            raw.gate.scores.push(p.gate!.probability);
            raw.gate.labels.push(labels[b]!);
            raw.gate.positive.push(p.gate!.positive);
            raw.gate.sources.push(source);
          });
        }
      } finally {
        images.dispose();
      }
    }
  }
  return { gating, ...summarise(raw, model, options.settings), raw };
}

/** The metrics of collected records: each task's spec under its decision settings (the head's own, then `settings`). */
export function summarise(
  raw: EvalRaw,
  model: MultiCheXNet,
  settings: DecisionSettings = {},
): Pick<EvalResult, 'metrics' | 'gate'> {
  const metrics: Record<string, object> = {};
  for (const spec of model.taskSpecs) {
    const records = raw.tasks[spec.name] ?? [];
    if (records.length === 0) continue;
    const head = model.heads[spec.name];
    metrics[spec.name] = spec.evaluation.metrics(
      records,
      spec.decoder.settings(spec.decodeSettings(head), settings[spec.name]),
      head,
    );
  }
  const out: Pick<EvalResult, 'metrics' | 'gate'> = { metrics };
  if (raw.gate.labels.length > 0 && model.gate !== null) {
    const m = gateMetrics(raw.gate.positive, raw.gate.labels);
    const bySource: GateEval['bySource'] = {};
    for (const s of new Set(raw.gate.sources)) {
      const idx = raw.gate.sources.flatMap((x, i) => (x === s ? [i] : []));
      const ms = gateMetrics(
        idx.map((i) => raw.gate.positive[i]!),
        idx.map((i) => raw.gate.labels[i]!),
      );
      bySource[s] = { sensitivity: ms.sensitivity, specificity: ms.specificity, count: ms.count };
    }
    out.gate = {
      threshold: model.gate.threshold,
      ...m,
      auroc: gateRoc(raw.gate.scores, raw.gate.labels).auroc,
      bySource,
    };
  }
  return out;
}
