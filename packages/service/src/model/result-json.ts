import type { ScoredBox } from '@multichexnet/core';
import type { PipelineResult, PipelineTimings } from '@multichexnet/runtime';

/**
 * One image's pipeline result as JSON: what `POST /v1/predict` answers and what a screening worker stores.
 * The mask travels as its SIIM run-length encoding (`maskRle`, column-major, `-1` when empty) at the image's own
 * size, not as a raster.
 */
export interface ResultJson {
  /** The tasks the model decoded (its heads: `cls`, `det`, `seg`, a user task ...). */
  tasks: string[];
  /** Sigmoid probability per class name ({} without a classifier). */
  probabilities: Record<string, number>;
  gate: { probability: number; positive: boolean };
  /** Boxes in original image pixels, top-left + size, best first ([] without a detector). */
  boxes: ScoredBox[];
  /** Size of the mask `maskRle` encodes, or null when the gate stopped the image or the model has no seg head. */
  mask: { width: number; height: number; pixels: number } | null;
  /** SIIM RLE of the mask; `-1` when empty or gated out, '' when the model has no seg head. */
  maskRle: string;
  timings: PipelineTimings;
  /** The fields of other tasks' decoders (e.g. CheXCovid's `covid`), as they decode them. */
  readonly [field: string]: unknown;
}

/**
 * {@link PipelineResult} -> {@link ResultJson} (the mask raster replaced by its size and pixel count; the built-in
 * heads' fields present, empty, when the model lacks the head).
 *
 * @example
 * const json = resultToJson(await pipeline.run(image)); // { tasks, probabilities, gate, boxes, mask: { width, height, pixels }, maskRle, timings }
 */
export function resultToJson(r: PipelineResult): ResultJson {
  const { mask: raster, probabilities, boxes, maskRle, findings: _findings, ...rest } = r;
  let mask: ResultJson['mask'] = null;
  if (raster !== undefined && raster !== null) {
    let pixels = 0;
    for (let i = 0; i < raster.data.length; i++) pixels += raster.data[i] !== 0 ? 1 : 0;
    mask = { width: raster.width, height: raster.height, pixels };
  }
  return { ...rest, probabilities: probabilities ?? {}, boxes: boxes ?? [], mask, maskRle: (maskRle as string | undefined) ?? '' };
}
