import { DataError, type BinaryMask, type ScoredBox } from '@multichexnet/core';
import { rleEncode, unfitBoxes, type FitTransform } from '@multichexnet/data/decode';
import { nonMaxSuppression } from '@multichexnet/head-det';
import type { ModelMetadata } from '../model/metadata';
import type { TensorData } from '../model/run-model';
import { resizeBilinear } from './resize-bilinear';
import { calibrateBoxes, calibrateProbabilities, calibrationOf, rawThreshold } from './calibration';
import { decideOod, type OodDecision } from './ood';

/** Thresholds of the det decoding. */
export interface DetDecodeSettings {
  scoreThreshold: number;
  nmsIoU: number;
  maxDetections: number;
}

/** Options of {@link decodeOutputs}: which image, where it came from, and overrides of what the model recorded. */
export interface DecodeOutputsOptions {
  /** data's fit of the original image (`preprocessImage(...).transform`): boxes and mask go back through it. */
  transform: FitTransform;
  /** Row of every output that holds this image (default 0). */
  index?: number;
  /** `enabled: false` decodes det/seg whatever the gate says; `threshold` overrides `metadata.gate.threshold`. */
  gate?: { enabled?: boolean; threshold?: number };
  /** Overrides of `metadata.decode.det`. */
  det?: Partial<DetDecodeSettings>;
  /** Overrides of `metadata.decode.seg` (threshold, minimum foreground area on the model-input grid). */
  seg?: { threshold?: number; minArea?: number };
  /** Override of `metadata.ood.threshold`. */
  ood?: { threshold?: number };
}

/** The first-stage gate's decision for one image. */
export interface GateDecision {
  /** Gate probability (1 when the model has no gate). */
  probability: number;
  /** Whether the det/seg outputs of the image count. */
  positive: boolean;
}

/** One image's decoded outputs. */
export interface DecodedOutputs {
  /** Sigmoid probability per class name. */
  probabilities: Record<string, number>;
  gate: GateDecision;
  /** Boxes in original image pixels, best first ([] when gated out or no det head). */
  boxes: ScoredBox[];
  /** Mask at the original image size (null when gated out or no seg head). */
  mask: BinaryMask | null;
  /** SIIM run-length encoding of `mask` (`-1` when empty or gated out, '' when the model has no seg head). */
  maskRle: string;
  /**
   * Class names whose probability reaches the per-class threshold of `metadata.decode.cls`, in class order;
   * absent when the model records no cls thresholds.
   */
  findings?: string[];
  /** The OOD verdict (pipeline/ood.ts); absent when the model records no OOD statistics. */
  ood?: OodDecision;
  /**
   * Whether `probabilities` and box scores are calibrated (temperature scaling recorded in the model,
   * pipeline/calibration.ts); absent on results made before it existed.
   */
  calibrated?: boolean;
}

/** Row `index` of a [B, ...] output, as the values of that row. */
function rowOf(outputs: Record<string, TensorData>, name: string, index: number): Float32Array {
  const t = outputs[name];
  if (t === undefined) {
    throw new DataError('Model output missing', { field: name, expected: `an output named ${name}`, found: Object.keys(outputs).join(', ') || '(none)' });
  }
  const rows = t.dims[0] ?? 1;
  if (!(Number.isInteger(index) && index >= 0 && index < rows)) {
    throw new DataError('Image index outside the batch', { field: name, expected: `0 <= index < ${rows}`, found: String(index) });
  }
  const per = t.data.length / rows;
  return t.data.subarray(index * per, (index + 1) * per);
}

/** The keys set to a value: `{ nmsIoU: undefined }` must not erase the model's own setting. */
function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const hasOutput = (metadata: ModelMetadata, name: string): boolean => metadata.outputs.some((o) => o.name === name);

/**
 * `gate_prob` [B] or [B, 1] (a cls gate: max of its classes, computed in the graph), or a gate head's output ->
 * image `index`'s gate decision. Not exported from the package: {@link decodeOutputs} is the public way.
 */
export function decideGate(
  outputs: Record<string, TensorData>,
  metadata: ModelMetadata,
  index: number,
  gate: { enabled?: boolean; threshold?: number } = {},
): GateDecision {
  const spec = metadata.gate;
  if (spec === null) return { probability: 1, positive: true };
  const name = spec.source === 'cls' ? 'gate_prob' : spec.output;
  const probability = rowOf(outputs, name, index)[0]!;
  return { probability, positive: gate.enabled === false || probability >= (gate.threshold ?? spec.threshold) };
}

/**
 * `cls_probs` [B, C], gate, `det_boxes` [B, N, 4] + `det_scores` [B, N], `seg_mask` [B, S, S, 1] NHWC -> one image's result.
 *
 * Class probabilities by name, the gate decision, boxes and mask mapped back onto the original image (boxes
 * arrive in model-input pixels, the mask as probabilities). Thresholds come from `metadata.decode` unless
 * overridden; det/seg are decoded only for gate positives, and only when `metadata.outputs` lists them (a stage-1
 * graph has none). Pure JavaScript, no session: it serves any onnxruntime result of a MultiCheXNet graph.
 *
 * @example
 * const { input, transform } = preprocessImage(image, model.metadata.preprocessing!);
 * const out = await runModel(model, { image: { data: input, dims: [1, S, S, 1] } });
 * const r = decodeOutputs(out, model.metadata, { transform });
 * r.probabilities.Pneumonia; r.gate.positive; r.boxes; r.maskRle;
 */
export function decodeOutputs(outputs: Record<string, TensorData>, metadata: ModelMetadata, options: DecodeOutputsOptions): DecodedOutputs {
  const index = options.index ?? 0;
  const probs = rowOf(outputs, 'cls_probs', index);
  const probabilities: Record<string, number> = {};
  for (let k = 0; k < probs.length; k++) probabilities[metadata.classNames[k] ?? `class_${k}`] = probs[k]!;
  calibrateProbabilities(probabilities, metadata); // calibrated probabilities (pipeline/calibration.ts)
  const gate = decideGate(outputs, metadata, index, options.gate);
  const clsThresholds = metadata.decode.cls?.thresholds;

  const { det, seg } = metadata.decode;
  // Calibrated models: the recorded and the caller's det / seg thresholds are on the calibrated scale, the graph's
  // scores raw (pipeline/calibration.ts).
  const detOverride = { ...options.det, scoreThreshold: rawThreshold(metadata, 'det', options.det?.scoreThreshold ?? det?.scoreThreshold) };
  const segOverride = rawThreshold(metadata, 'seg', options.seg?.threshold ?? seg?.threshold);
  const hasDet = det !== null && hasOutput(metadata, 'det_boxes') && hasOutput(metadata, 'det_scores');
  const hasSeg = seg !== null && hasOutput(metadata, 'seg_mask');
  let boxes: ScoredBox[] = [];
  let mask: BinaryMask | null = null;
  if (gate.positive && hasDet) {
    const settings = { ...det, ...definedOnly(detOverride) };
    boxes = decodeBoxes(rowOf(outputs, 'det_boxes', index), rowOf(outputs, 'det_scores', index), settings, options.transform);
  }
  if (gate.positive && hasSeg) {
    const size = outputs.seg_mask?.dims[1] ?? metadata.preprocessing?.size ?? 0;
    const probs = rowOf(outputs, 'seg_mask', index);
    const threshold = segOverride ?? seg.threshold;
    mask = decodeMask(probs, size, options.transform, threshold);
    // The minimum area is counted on the model-input grid, as the evaluation that chose it counted it, so the
    // decision does not depend on the original image's size.
    const minArea = options.seg?.minArea ?? seg.minArea ?? 0;
    if (minArea > 0 && foregroundCount(probs, threshold) < minArea) mask.data.fill(0);
  }
  const result: DecodedOutputs = { probabilities, gate, boxes, mask, maskRle: !hasSeg ? '' : mask === null ? '-1' : rleEncode(mask) };
  if (clsThresholds !== undefined) result.findings = Object.keys(probabilities).filter((c) => clsThresholds[c] !== undefined && probabilities[c]! >= clsThresholds[c]!);
  // OOD verdict and calibrated probabilities (pipeline/ood.ts, pipeline/calibration.ts)
  const ood = decideOod(outputs, metadata, index, options.ood?.threshold);
  if (ood !== null) result.ood = ood;
  result.calibrated = calibrationOf(metadata).calibrated;
  result.boxes = calibrateBoxes(result.boxes, metadata);
  return result;
}

/** Pixels of a probability map above `threshold`. */
function foregroundCount(probs: Float32Array, threshold: number): number {
  let n = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i]! > threshold) n++;
  return n;
}

/**
 * `det_boxes` [N, 4] (x, y, w, h in model-input pixels) and `det_scores` [N] of one image -> its boxes:
 * score >= threshold, non-empty after clipping, head-det's greedy NMS, at most maxDetections, then mapped back
 * onto the original image with data's `unfitBoxes` (`transform` null: left in model-input pixels).
 *
 * @example
 * const boxes = decodeBoxes(boxesOfImage, scoresOfImage, model.metadata.decode.det!, transform);
 */
export function decodeBoxes(boxes: Float32Array, scores: Float32Array, settings: DetDecodeSettings, transform: FitTransform | null): ScoredBox[] {
  const candidates: ScoredBox[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (!(score >= settings.scoreThreshold)) continue;
    const width = boxes[i * 4 + 2]!;
    const height = boxes[i * 4 + 3]!;
    if (!(width > 0 && height > 0)) continue;
    candidates.push({ x: boxes[i * 4]!, y: boxes[i * 4 + 1]!, width, height, score });
  }
  const kept = nonMaxSuppression(candidates, settings.nmsIoU, settings.maxDetections);
  return transform === null ? kept : unfitBoxes(kept, transform);
}

/**
 * `seg_mask` probabilities [S, S] of one image (model input) -> BinaryMask at the original size: the part covering
 * the image (without letterbox padding) resized bilinearly, foreground where probability > threshold.
 *
 * @example
 * const mask = decodeMask(probsOfImage, 256, transform, model.metadata.decode.seg!.threshold);
 */
export function decodeMask(probs: Float32Array, size: number, transform: FitTransform, threshold: number): BinaryMask {
  const { width, height } = transform;
  const window = {
    x0: transform.offsetX,
    y0: transform.offsetY,
    w: Math.max(1, Math.round(width * transform.scaleX)),
    h: Math.max(1, Math.round(height * transform.scaleY)),
  };
  const data = new Uint8Array(width * height);
  // bilinear samples are convex combinations of the window's probabilities: none above the threshold there, none
  // anywhere on the film (the usual film without a pneumothorax skips resizing millions of pixels)
  let top = -Infinity;
  for (let y = window.y0; y < window.y0 + window.h; y++) for (let x = window.x0; x < window.x0 + window.w; x++) top = Math.max(top, probs[y * size + x]!);
  if (top + 1e-9 <= threshold) return { width, height, data };
  const p = resizeBilinear(probs, size, window, width, height);
  for (let i = 0; i < data.length; i++) data[i] = p[i]! > threshold ? 1 : 0;
  return { width, height, data };
}
