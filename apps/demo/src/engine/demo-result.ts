import type { ScoredBox } from '@multichexnet/core/base';
import type { ClassActivationMap } from '@multichexnet/runtime';

/** Which onnxruntime-web execution provider ran the model. */
export type ExecutionBackend = 'webgpu' | 'wasm';

/** One class probability, as the page lists them (sorted, highest first). */
export interface ClassProbability {
  name: string;
  probability: number;
}

/** The first-stage gate's decision for one image. */
export interface GateDecision {
  probability: number;
  threshold: number;
  positive: boolean;
  /** The cls classes the gate reads (`source: 'cls'`), or null for a dedicated gate head. */
  classes: string[] | null;
}

/**
 * Pneumothorax mask [H, W], row-major, 1 = foreground, at the original image's size (the runtime maps the model's
 * mask back through the letterbox fit).
 */
export interface MaskOverlay {
  width: number;
  height: number;
  data: Uint8Array;
  /** Foreground share of the image, 0..1. */
  areaFraction: number;
}

/** One timed step of a run. */
export interface TimedStep {
  label: string;
  ms: number;
}

/** One image's results in original image pixels, ready to draw. */
export interface DemoResult {
  /** Sorted, highest probability first. */
  probabilities: ClassProbability[];
  /** null when the model has no gate. */
  gate: GateDecision | null;
  /** Whether the det/seg outputs are shown: the gate passed the image, or gating was switched off. */
  detSegShown: boolean;
  /** Pneumonia boxes in original image pixels, best first. */
  boxes: ScoredBox[];
  /** null when the model has no seg head or the gate stopped the image. */
  mask: MaskOverlay | null;
  hasDet: boolean;
  hasSeg: boolean;
  /** Class activation map of every class by name, on the model's feature grid; null when the model has none. */
  cams: Record<string, ClassActivationMap> | null;
  steps: TimedStep[];
  totalMs: number;
  /** The OOD verdict (null: the model records no OOD statistics). */
  ood: { score: number; threshold: number; outOfDistribution: boolean } | null;
  /** Refused as out of distribution: no probabilities, boxes or mask. */
  refused: boolean;
  /** Whether the probabilities and box scores are calibrated (temperature scaling fitted on validation). */
  calibrated: boolean;
}
