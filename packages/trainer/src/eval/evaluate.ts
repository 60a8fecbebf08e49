import { DataError, tf, type BinaryMask, type Box } from '@multichexnet/core';
import { PATHOLOGIES, createBatchStream, type Dataset, type PreprocessConfigInput, type SampleCache } from '@multichexnet/data';
import { gateMetrics, gateRoc, gateTargets } from '@multichexnet/gating';
import { f1Score, macroAuroc } from '@multichexnet/head-cls';
import { apAt, positiveApAt, rsnaMeanAP, type DetectionImage } from '@multichexnet/head-det';
import { positiveMeanDice, siimMeanDice, type SegmentationImage } from '@multichexnet/head-seg';
import type { Gating, HeadSet, ImagePrediction, MultiCheXNet, TaskName } from '../model/multichexnet';
import type { PlanSource } from '../plan/plan-schema';

/** Evaluation sets by source (usually the test or val splits). */
export type EvalSets = Partial<Record<PlanSource, Dataset>>;

/** Which sources each metric is computed on. */
export interface EvalSources {
  cls?: PlanSource[];
  det?: PlanSource[];
  seg?: PlanSource[];
  gate?: PlanSource[];
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Network input side (the plan's imageSize). */
  imageSize: number;
  /** Preprocessing of the plan (`size` is imageSize); no augmentation is applied. */
  preprocess?: Omit<PreprocessConfigInput, 'size'>;
  /**
   * Det/seg gating: `gate` (default with a gate: predictions only for gate-positive images, the rest empty, so gate
   * false positives get predictions and false negatives none), `truth` (only truly positive images), `none`.
   */
  gating?: Gating;
  /** Default: cls on nih (else every source present), det on rsna, seg on siim, gate on rsna + siim. */
  sources?: EvalSources;
  batchSize?: number;
  cache?: SampleCache;
  /**
   * Decision threshold(s) of the macro F1: one for every class (default 0.5) or one per class (e.g. from
   * `chooseF1Thresholds` on validation data).
   */
  f1Threshold?: number | Record<string, number>;
  /** Labels that define a gate positive (default the gate's classes, else Pneumonia and Pneumothorax). */
  gateClasses?: readonly string[];
  /**
   * Score threshold of the boxes the RSNA mAP counts (default the det head's `decode.scoreThreshold`). Boxes are
   * decoded down to 0.01 so that AP@0.5, which ranks every box, sees them all; NMS is greedy by score, so the boxes
   * above a threshold are the same whichever lower threshold decoded them.
   */
  detScoreThreshold?: number;
  /** Predicted masks with fewer foreground pixels than this count as empty (default 0: none removed). */
  segMinArea?: number;
}

/** Lowest score decoded during evaluation. */
const DECODE_FLOOR = 0.01;

/** Classification metrics. */
export interface ClsMetrics {
  meanAuroc: number;
  /** The thresholds of `macroF1`: one number for all classes, or per class. */
  f1Threshold: number | Record<string, number>;
  perClassAuroc: Record<string, number>;
  macroF1: number;
  /** F1 by class at `f1Threshold`. */
  perClassF1: Record<string, number>;
  images: number;
}

/** Detection metrics (RSNA). */
export interface DetMetrics {
  /** RSNA Pneumonia challenge metric (mean over IoU 0.4..0.75 of TP / (TP + FP + FN), per image). */
  mAP: number;
  /** The box score threshold of `mAP`. */
  scoreThreshold: number;
  /** PASCAL VOC AP at IoU 0.5 (all-point) over all images: false alarms on negative images count. */
  ap50: number;
  /** The same AP on the images with a truth box only, as the authors' code reports it (`positiveApAt`). */
  positiveAp50: number;
  images: number;
  positives: number;
}

/** Segmentation metrics (SIIM). */
export interface SegMetrics {
  /** SIIM-ACR mean Dice over all images (empty truth and empty prediction score 1). */
  dice: number;
  /** Mean Dice over the images with a non-empty truth mask, as the authors' code reports it (`positiveMeanDice`). */
  positiveDice: number;
  /** Predicted masks below this many pixels counted as empty. */
  minArea: number;
  images: number;
  positives: number;
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
  cls?: ClsMetrics;
  det?: DetMetrics;
  seg?: SegMetrics;
  gate?: GateEval;
  /** The raw material, for baselines and further analysis. */
  raw: EvalRaw;
}

/** Per-image truths and predictions collected by {@link evaluate}. */
export interface EvalRaw {
  cls: { labels: Float32Array[]; scores: Float32Array[]; classes: string[] };
  det: DetectionImage[];
  seg: SegmentationImage[];
  gate: { scores: number[]; labels: number[]; positive: boolean[]; sources: PlanSource[] };
}

function defaultSources(data: EvalSets, model: MultiCheXNet<HeadSet>): Required<EvalSources> {
  const present = (Object.keys(data) as PlanSource[]).filter((s) => data[s] !== undefined);
  const pick = (s: PlanSource[]): PlanSource[] => s.filter((x) => present.includes(x));
  return {
    cls: model.heads.cls ? (present.includes('nih') ? ['nih'] : present) : [],
    det: model.heads.det ? pick(['rsna']) : [],
    seg: model.heads.seg ? pick(['siim']) : [],
    gate: model.gate ? pick(['rsna', 'siim']) : [],
  };
}

/**
 * Evaluates a model on held-out data with the gated pipeline's semantics: cls per-class AUROC and F1, mean AUROC
 * and macro F1; det RSNA mAP and VOC AP@0.5 (all images and positive images); seg SIIM mean Dice (all images) and
 * Dice on positive images; gate sensitivity / specificity / AUROC. Det / seg
 * predictions are made only for the images the gating lets through (`gate`, `truth`) and are empty for the rest.
 *
 * @example
 * const r = await evaluate(model, { nih: data.nih.test, rsna: data.rsna.test, siim: data.siim.test }, { imageSize: 128 });
 * r.cls.meanAuroc; r.det.mAP; r.seg.dice; r.gate.sensitivity;
 */
export async function evaluate(model: MultiCheXNet<HeadSet>, data: EvalSets, options: EvaluateOptions): Promise<EvalResult> {
  const gating: Gating = options.gating ?? (model.gate !== null ? 'gate' : 'none');
  if (gating === 'gate' && model.gate === null) {
    throw new DataError('Gated evaluation needs a model with a gate', { field: 'gating', expected: "'none' or 'truth' for a model without a gate", found: 'gate' });
  }
  const sources = { ...defaultSources(data, model), ...(options.sources ?? {}) };
  const gateClasses = options.gateClasses ?? (model.gate?.config.kind === 'cls-path' ? model.gate.config.classes : ['Pneumonia', 'Pneumothorax']);
  const clsClasses = model.heads.cls?.config.classes ?? [];
  const raw: EvalRaw = { cls: { labels: [], scores: [], classes: [...clsClasses] }, det: [], seg: [], gate: { scores: [], labels: [], positive: [], sources: [] } };
  const all = new Set<PlanSource>([...sources.cls, ...sources.det, ...sources.seg, ...sources.gate]);
  for (const source of all) {
    const ds = data[source];
    if (ds === undefined) throw new DataError('No evaluation set for a requested source', { field: `data.${source}`, expected: 'a Dataset', found: 'missing' });
    const does = { cls: sources.cls.includes(source), det: sources.det.includes(source), seg: sources.seg.includes(source), gate: sources.gate.includes(source) };
    const stream = createBatchStream({
      datasets: ds,
      batchSize: options.batchSize ?? 32,
      shuffle: false,
      augment: false,
      preprocess: { ...(options.preprocess ?? {}), size: options.imageSize },
      classes: [...PATHOLOGIES],
      prefetch: 1,
      ...(options.cache !== undefined ? { cache: options.cache } : {}),
    });
    const C = PATHOLOGIES.length;
    const clsCols = clsClasses.map((c) => (PATHOLOGIES as readonly string[]).indexOf(c));
    for await (const batch of stream) {
      const B = batch.size;
      const S = batch.imageSize;
      const rows = Array.from({ length: B }, (_, b) => batch.labels.subarray(b * C, (b + 1) * C));
      const boxes: (Box[] | null)[] = rows.map((_, b) => (batch.tasks.det[b] === 1 ? batch.boxes[b]!.map(({ x, y, width, height }) => ({ x, y, width, height })) : null));
      const masks: (BinaryMask | null)[] = rows.map((_, b) => (batch.tasks.seg[b] === 1 ? { width: S, height: S, data: batch.masks.slice(b * S * S, (b + 1) * S * S) } : null));
      const images = tf.tensor4d(batch.images, [B, S, S, 1]);
      try {
        const routedTasks: TaskName[] = [...(does.det ? (['det'] as const) : []), ...(does.seg ? (['seg'] as const) : [])];
        const runs: { tasks: TaskName[]; truth?: boolean[] }[] = [];
        const base: TaskName[] = does.cls ? ['cls'] : [];
        if (gating === 'truth' && routedTasks.length > 0) {
          routedTasks.forEach((t, i) => runs.push({ tasks: i === 0 ? [...base, t] : [t], truth: t === 'det' ? boxes.map((x) => (x?.length ?? 0) > 0) : masks.map((m) => m !== null && m.data.some((v) => v !== 0)) }));
        } else {
          runs.push({ tasks: [...base, ...routedTasks] });
        }
        let gateRun: ImagePrediction[] | null = null;
        for (const r of runs) {
          // Gating only concerns det / seg: a run without them (or a truth run) needs no other decision.
          const g: Gating = r.truth !== undefined ? 'truth' : r.tasks.some((t) => t === 'det' || t === 'seg') ? gating : 'none';
          const preds = model.predict(images, { gating: g, tasks: r.tasks, ...(r.truth ? { truthPositive: r.truth } : {}), detScoreThreshold: Math.min(DECODE_FLOOR, options.detScoreThreshold ?? DECODE_FLOOR) });
          if (preds[0]?.gate !== undefined && gateRun === null) gateRun = preds;
          preds.forEach((p, b) => {
            if (r.tasks.includes('cls') && p.probabilities !== undefined) {
              const labels = Float32Array.from(clsCols, (c) => (c < 0 ? Number.NaN : rows[b]![c]!));
              if (labels.some((v) => !Number.isNaN(v))) {
                raw.cls.labels.push(labels);
                raw.cls.scores.push(Float32Array.from(clsClasses, (c) => p.probabilities![c]!));
              }
            }
            if (r.tasks.includes('det') && boxes[b] !== null && p.boxes !== undefined) raw.det.push({ truth: boxes[b]!, predictions: p.boxes });
            if (r.tasks.includes('seg') && masks[b] !== null && p.mask !== undefined) raw.seg.push({ truth: masks[b]!, prediction: p.mask });
          });
        }
        if (does.gate && gateRun !== null) {
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
  return { gating, ...summarise(raw, model, options), raw };
}

/** Metrics from collected truths and predictions. */
export function summarise(raw: EvalRaw, model: MultiCheXNet<HeadSet>, options: Pick<EvaluateOptions, 'f1Threshold' | 'detScoreThreshold' | 'segMinArea'> = {}): Omit<EvalResult, 'gating' | 'raw'> {
  const out: Omit<EvalResult, 'gating' | 'raw'> = {};
  if (raw.cls.labels.length > 0) {
    const m = macroAuroc(raw.cls.labels, raw.cls.scores, raw.cls.classes);
    const t = options.f1Threshold ?? 0.5;
    const decided = typeof t === 'number' ? raw.cls.scores : raw.cls.scores.map((row) => Float32Array.from(raw.cls.classes, (c, j) => (row[j]! >= (t[c] ?? 0.5) ? 1 : 0)));
    const f1 = f1Score(raw.cls.labels, decided, { threshold: typeof t === 'number' ? t : 0.5, classes: raw.cls.classes });
    out.cls = { meanAuroc: m.mean, f1Threshold: t, perClassAuroc: m.perClass, macroF1: f1.macro, perClassF1: f1.perClass, images: raw.cls.labels.length };
  }
  if (raw.det.length > 0) {
    const scoreThreshold = options.detScoreThreshold ?? model.heads.det?.config.decode.scoreThreshold ?? 0.25;
    out.det = {
      mAP: detMapAt(raw.det, scoreThreshold),
      ap50: apAt(raw.det, 0.5),
      positiveAp50: positiveApAt(raw.det, 0.5),
      scoreThreshold,
      images: raw.det.length,
      positives: raw.det.filter((d) => d.truth.length > 0).length,
    };
  }
  if (raw.seg.length > 0) {
    const minArea = options.segMinArea ?? 0;
    const seg = segMasksAt(raw.seg, minArea);
    out.seg = { dice: siimMeanDice(seg), positiveDice: positiveMeanDice(seg), minArea, images: raw.seg.length, positives: raw.seg.filter((s) => s.truth.data.some((v) => v !== 0)).length };
  }
  if (raw.gate.labels.length > 0 && model.gate !== null) {
    const m = gateMetrics(raw.gate.positive, raw.gate.labels);
    const bySource: GateEval['bySource'] = {};
    for (const s of new Set(raw.gate.sources)) {
      const idx = raw.gate.sources.flatMap((x, i) => (x === s ? [i] : []));
      const ms = gateMetrics(idx.map((i) => raw.gate.positive[i]!), idx.map((i) => raw.gate.labels[i]!));
      bySource[s] = { sensitivity: ms.sensitivity, specificity: ms.specificity, count: ms.count };
    }
    out.gate = { threshold: model.gate.threshold, ...m, auroc: gateRoc(raw.gate.scores, raw.gate.labels).auroc, bySource };
  }
  return out;
}

/** RSNA mAP of the predictions with score >= `threshold`. */
export function detMapAt(images: readonly DetectionImage[], threshold: number): number {
  return rsnaMeanAP(images.map((d) => ({ truth: d.truth, predictions: d.predictions.filter((p) => p.score >= threshold) })));
}

/** SIIM mean Dice with predicted masks of fewer than `minArea` pixels emptied. */
export function segDiceAt(images: readonly SegmentationImage[], minArea: number): number {
  return siimMeanDice(segMasksAt(images, minArea));
}

/** The images with predicted masks of fewer than `minArea` pixels emptied. */
function segMasksAt(images: readonly SegmentationImage[], minArea: number): readonly SegmentationImage[] {
  if (minArea <= 0) return images;
  return images.map((s) => {
    let n = 0;
    for (let i = 0; i < s.prediction.data.length; i++) if (s.prediction.data[i] !== 0) n++;
    return n >= minArea ? s : { truth: s.truth, prediction: { width: s.prediction.width, height: s.prediction.height, data: new Uint8Array(s.prediction.data.length) } };
  });
}
