import type { ScoredBox } from '@multichexnet/core';
import { oodMessage, type OodDecision, type PipelineResult, type PipelineTimings } from '@multichexnet/runtime';

/**
 * One image's pipeline result as JSON: what `POST /v1/predict` answers and what a screening worker stores.
 * The mask travels as its SIIM run-length encoding (`maskRle`, column-major, `-1` when empty) at the image's own
 * size, not as a raster.
 */
export interface ResultJson {
  /** Sigmoid probability per class name. */
  probabilities: Record<string, number>;
  gate: { probability: number; positive: boolean };
  /** Boxes in original image pixels, top-left + size, best first. */
  boxes: ScoredBox[];
  /** Size of the mask `maskRle` encodes, or null when the gate stopped the image or the model has no seg head. */
  mask: { width: number; height: number; pixels: number } | null;
  /** SIIM RLE of the mask; `-1` when empty or gated out, '' when the model has no seg head. */
  maskRle: string;
  timings: PipelineTimings;
  /** The OOD verdict, when the model records OOD statistics (and the service checks them). */
  ood?: OodDecision;
  /** Refused as out of distribution (`--ood refuse`, the default): no probabilities, boxes or mask; `refusal` says why. */
  refused?: true;
  refusal?: string;
  /** Whether the probabilities and box scores are calibrated (temperature scaling fitted on validation). */
  calibrated: boolean;
}

/**
 * {@link PipelineResult} -> {@link ResultJson} (the mask raster replaced by its size and pixel count).
 *
 * @example
 * const json = resultToJson(await pipeline.run(image)); // { probabilities, gate, boxes, mask: { width, height, pixels }, maskRle, timings }
 */
export function resultToJson(r: PipelineResult, name = 'image'): ResultJson {
  let mask: ResultJson['mask'] = null;
  if (r.mask !== null) {
    let pixels = 0;
    for (let i = 0; i < r.mask.data.length; i++) pixels += r.mask.data[i] !== 0 ? 1 : 0;
    mask = { width: r.mask.width, height: r.mask.height, pixels };
  }
  return {
    probabilities: r.probabilities,
    gate: r.gate,
    boxes: r.boxes,
    mask,
    maskRle: r.maskRle,
    timings: r.timings,
    ...(r.ood !== undefined ? { ood: r.ood } : {}),
    ...(r.refused === true && r.ood !== undefined ? { refused: true as const, refusal: oodMessage(name, r.ood) } : {}),
    calibrated: r.calibrated === true,
  };
}
