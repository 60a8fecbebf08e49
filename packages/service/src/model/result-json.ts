import type { ScoredBox } from '@multichexnet/core';
import {
  camHeatRgba,
  oodMessage,
  type ClassActivationMap,
  type OodDecision,
  type PipelineResult,
  type PipelineTimings,
} from '@multichexnet/runtime';
import { encode } from 'fast-png';

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
  /**
   * The OOD verdict, when the model records OOD statistics and the service checks them (`--ood refuse|flag`), with
   * what was done: `in-distribution`, `refused` (no probabilities, boxes or mask; `refusal` says why) or `flagged`
   * (findings kept, marked).
   */
  ood?: OodDecision & { decision: 'in-distribution' | 'refused' | 'flagged' };
  /** Refused as out of distribution (`--ood refuse`, the default): the one-line reason. */
  refused?: true;
  refusal?: string;
  /** Whether the probabilities and box scores are calibrated (temperature scaling fitted on validation). */
  calibrated: boolean;
  /** Class activation maps of the findings and of the classes asked for, when asked for (see {@link mapsToJson}). */
  maps?: Record<string, MapJson>;
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
export function resultToJson(
  r: PipelineResult,
  name = 'image',
  options: { maps?: MapFormat | null; mapClasses?: readonly string[] } = {},
): ResultJson {
  const { mask: raster, probabilities, boxes, maskRle, findings, cams, refused, ood, calibrated, ...rest } = r;
  let mask: ResultJson['mask'] = null;
  if (raster !== undefined && raster !== null) {
    let pixels = 0;
    for (let i = 0; i < raster.data.length; i++) pixels += raster.data[i] !== 0 ? 1 : 0;
    mask = { width: raster.width, height: raster.height, pixels };
  }
  const out: ResultJson = {
    ...rest,
    probabilities: probabilities ?? {},
    boxes: boxes ?? [],
    mask,
    maskRle: (maskRle as string | undefined) ?? '',
    calibrated: calibrated === true,
  };
  if (ood !== undefined)
    out.ood = {
      ...ood,
      decision: refused === true ? 'refused' : ood.outOfDistribution ? 'flagged' : 'in-distribution',
    };
  if (refused === true && ood !== undefined) {
    out.refused = true;
    out.refusal = oodMessage(name, ood);
  }
  if (options.maps != null) {
    // the findings' maps and those asked for by name (the pipeline may carry every class's)
    const wanted = new Set([...(findings ?? []), ...(options.mapClasses ?? [])]);
    const picked = Object.fromEntries(Object.entries(cams ?? {}).filter(([c]) => wanted.has(c)));
    out.maps = mapsToJson(picked, options.maps);
  }
  return out;
}

/** How `maps` travel: `grid` (the CAM grid as numbers) or `png` (a heatmap PNG at the film's size, base64). */
export type MapFormat = 'grid' | 'png';

/** One finding's class activation map as JSON. */
export interface MapJson {
  /** The largest cell: its centre in original image pixels and its value (logit units). */
  peak: { x: number; y: number; value: number };
  /** `grid`: the map on the encoder grid, row-major [height][width] flattened, logit units. */
  grid?: { width: number; height: number; stride: number; values: number[] };
  /**
   * `png`: `data:image/png;base64,...` of an RGBA heatmap at the original image's size (blue to red, transparent
   * where there is no positive evidence), to draw over the film as is.
   */
  png?: string;
}

/**
 * The findings' class activation maps of a result as JSON, as a client asks for them: `grid` for analysis (a few
 * dozen numbers per class), `png` for drawing (a transparent overlay at the film's size).
 *
 * @example
 * mapsToJson(result.cams ?? {}, 'png').Mass.png;   // 'data:image/png;base64,iVBOR...'
 */
export function mapsToJson(
  cams: Readonly<Record<string, ClassActivationMap>>,
  format: MapFormat,
): Record<string, MapJson> {
  const out: Record<string, MapJson> = {};
  for (const [cls, cam] of Object.entries(cams)) {
    const entry: MapJson = { peak: { ...cam.peak } };
    if (format === 'grid')
      entry.grid = {
        width: cam.width,
        height: cam.height,
        stride: cam.stride,
        values: Array.from(cam.data, (v) => Math.round(v * 1e4) / 1e4),
      };
    else {
      const { width, height } = cam.transform; // the original film's size
      const rgba = camHeatRgba(cam);
      entry.png = `data:image/png;base64,${Buffer.from(encode({ width, height, data: rgba, channels: 4, depth: 8 })).toString('base64')}`;
    }
    out[cls] = entry;
  }
  return out;
}
