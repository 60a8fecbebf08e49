/*
 * What report.html is rendered from. Every piece is a file of the run folder, so `multichexnet report <run>`
 * re-renders the page from the folder alone:
 *   plan.json, metrics.jsonl, eval.json            (written by @multichexnet/trainer's train)
 *   eval-test.json, gallery/gallery.json + PNGs    (written by `multichexnet eval`)
 *   table1.json .. table4.json                     (written by @multichexnet/experiments)
 *   model.onnx, model.stage1.onnx, model.stage2.onnx (written by `multichexnet export`)
 */

import type { RunOod, RunTemperature } from '../run/fit-probability';
import type { GateEval } from '@multichexnet/trainer';

/** One point of a ROC curve. */
export interface RocPointData {
  fpr: number;
  tpr: number;
}

/** ROC of one class on the test split. */
export interface ClassRoc {
  name: string;
  auroc: number;
  positives: number;
  negatives: number;
  points: RocPointData[];
}

/**
 * The decision settings an evaluation used, chosen on the validation split with @multichexnet/trainer's
 * `calibrate` (as Table 1 does); the exported model records the same ones in its `decode` metadata.
 */
export interface RunCalibration {
  /**
   * `val`: chosen on the run's validation split; `source`: published with imported weights (torchxrayvision's
   * op_threshs).
   */
  chosenOn: 'val' | 'source';
  /** The gating the settings were chosen under (the evaluation's). */
  gating: string;
  /**
   * The chosen settings by task, as each task's decoder takes them: CheXCls `{ thresholds }` (per-class F1
   * thresholds), CheXDet `{ scoreThreshold }`, CheXSeg `{ minArea }` (model-input pixels).
   */
  tasks: Record<string, Record<string, unknown>>;
}

/**
 * A calibration as read from a run file: files written before the task table named the three heads' settings
 * (`f1Threshold`, `detScoreThreshold`, `segMinArea`); they read as the same settings by task.
 */
export function runCalibrationOf(json: unknown): RunCalibration | null {
  if (json === null || typeof json !== 'object') return null;
  const c = json as Partial<RunCalibration> & {
    f1Threshold?: Record<string, number>;
    detScoreThreshold?: number;
    segMinArea?: number;
  };
  if (c.tasks !== undefined) return c as RunCalibration;
  const tasks: RunCalibration['tasks'] = {};
  if (c.f1Threshold !== undefined) tasks.cls = { thresholds: c.f1Threshold };
  if (c.detScoreThreshold !== undefined) tasks.det = { scoreThreshold: c.detScoreThreshold };
  if (c.segMinArea !== undefined) tasks.seg = { minArea: c.segMinArea };
  return { chosenOn: c.chosenOn ?? 'val', gating: c.gating ?? 'gate', tasks };
}

/** The gate's numbers of an evaluation (the trainer's {@link GateEval}; the report does not show them per source). */
export type GateNumbers = Omit<GateEval, 'bySource'>;

/** `eval-test.json`: test-split metrics of the final model (gated pipeline semantics) and the curves behind them. */
export interface TestEvaluation {
  format: 'multichexnet-eval';
  split: 'test' | 'val';
  gating: string;
  /**
   * The decision settings of `metrics`, chosen on the validation split (null: no validation images, defaults used).
   * Absent in files written before it existed.
   */
  calibration?: RunCalibration | null;
  /**
   * The bad-sample policy and the samples skipped (bad label rows, undecodable or non-radiograph images) per source:
   * the metrics cover the rest. Absent in files written before it existed.
   */
  data?: { onBadSample: 'skip' | 'fail'; skipped: Partial<Record<string, number>>; totalSkipped: number };
  /**
   * The numbers of @multichexnet/trainer's evaluate, without its raw per-image material: each task's metrics under
   * its name (cls `{ meanAuroc, macroF1, perClassAuroc, images }`, det `{ mAP, ap50, ... }`, seg `{ dice, ... }`),
   * the gate's under `gate`.
   */
  metrics: Record<string, Record<string, unknown>> & { gate?: GateNumbers };
  curves: {
    roc?: ClassRoc[];
    /** Precision-recall of the det boxes at IoU 0.5 (boxes at or above the deployed score threshold). */
    pr?: {
      iou: number;
      ap: number;
      truthCount: number;
      points: { recall: number; precision: number; score: number }[];
    };
    /** Per-image SIIM Dice, and whether the image truly has a pneumothorax. */
    dice?: { values: number[]; positive: boolean[] };
    gateRoc?: { auroc: number; threshold: number; points: RocPointData[]; operating: RocPointData };
  };
}

/** A box drawn in the gallery, in display pixels, with how it fared against the truth. */
export interface GalleryBox {
  x: number;
  y: number;
  width: number;
  height: number;
  /**
   * Predicted boxes: `tp` (matches a truth box at IoU >= 0.4), `fp`, or `pred` on an image without box labels;
   * truth boxes: `hit` or `miss`.
   */
  status: 'tp' | 'fp' | 'pred' | 'hit' | 'miss';
  score?: number;
}

/** One gallery image: the film, the mask comparison layer, boxes, gate decision and what it should have been. */
export interface GalleryItem {
  /** The image's pseudonym (imageRef: source + 12 hex digits of SHA-256), never the raw dataset key. */
  id: string;
  source: string;
  /** Grey film, PNG file name inside gallery/. */
  image: string;
  /**
   * RGBA layer (green: predicted and true, red: false positive pixels, blue: missed), PNG inside gallery/; null without
   * seg.
   */
  maskLayer: string | null;
  size: number;
  gate: { probability: number; positive: boolean; truth: boolean | null };
  boxes: GalleryBox[];
  /** Dice of this image's mask (SIIM), when it has a mask label. */
  dice: number | null;
  /** Top class probabilities and the labels the image truly has. */
  top: { class: string; probability: number }[];
  truthLabels: string[];
  /** Short verdicts: "gate miss", "false-positive box", "missed box", "mask FP". */
  flags: string[];
  /**
   * [cam] The class activation map of the image's most probable finding: an RGBA heat layer PNG inside gallery/
   * (absent: the model has no maps, or the image no finding).
   */
  cam?: { class: string; layer: string };
}

/** `gallery/gallery.json`. */
export interface Gallery {
  format: 'multichexnet-gallery';
  model: string;
  items: GalleryItem[];
}

/** A paper-style results table as rendered (numbers as numbers, missing cells null). */
export interface ResultTable {
  id: string;
  title: string;
  caption: string;
  columns: string[];
  rows: (string | number | null)[][];
  /** Columns whose highest value is shown in bold. */
  highlight?: number[];
  /** Rows that are references (chance baselines): never bold. */
  referenceRows?: number[];
  /** Decimals per column (default 3). */
  decimals?: Record<number, number>;
  /** Groups of columns compared within each row: the highest value of a group in a row is bold. */
  highlightAcross?: number[][];
}

/** One line of metrics.jsonl (the trainer's records; a fine-tuning run writes `step` and `loss` only). */
export interface MetricsRecord {
  type: string;
  phase?: string;
  phaseIndex?: number;
  step?: number;
  globalStep?: number;
  losses?: Record<string, number>;
  loss?: number;
  total?: number;
  lr?: number;
  imagesPerSecond?: number;
  [key: string]: unknown;
}

/** Everything the report shows. */
export interface ReportData {
  runName: string;
  runDir: string;
  plan: Record<string, unknown> | null;
  metrics: MetricsRecord[];
  /** The trainer's eval.json (validation metrics, gate threshold). */
  validation: Record<string, unknown> | null;
  test: TestEvaluation | null;
  gallery: Gallery | null;
  /** Gallery PNGs by file name, as base64. */
  galleryImages: Record<string, string>;
  tables: ResultTable[];
  /** A fine-tuning run's transfer.json (@multichexnet/transfer), when the folder is one. */
  transfer: Record<string, unknown> | null;
  files: { name: string; bytes: number }[];
  generatedBy: string;
  /** temperature.json and ood.json (run/fit-probability.ts), when the run has them. */
  temperature?: RunTemperature | null;
  ood?: RunOod | null;
}
