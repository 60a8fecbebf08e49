import { DataError, z } from '@multichexnet/core/base';
import type { FitTransform } from '@multichexnet/data/decode';
import type { ModelMetadata } from '../model/metadata';
import type { TensorData } from '../model/run-model';
import { modelOutput } from './model-output';

/** Name of the optional stage-1 / single-graph output holding the class activation maps. */
export const CAM_OUTPUT = 'cls_cam';

/**
 * One image's class activation map for one class: CheXCls's map on its pooled feature grid, in logit units (the
 * grid's mean plus the class bias is the logit), with what it takes to draw it over the original film.
 */
export interface ClassActivationMap {
  className: string;
  /** Grid [height, width], row-major: the pooled encoder level (c5 of a 256 px input: 8 x 8). */
  width: number;
  height: number;
  data: Float32Array;
  /** Model-input pixels per grid cell. */
  stride: number;
  /** data's fit of the original image into the model input: {@link camToImage} maps the grid back through it. */
  transform: FitTransform;
  /** The largest cell: its value and its centre in original image pixels. */
  peak: { x: number; y: number; value: number };
}

/** Which maps the pipeline returns: the findings' (default on) and those of the classes named (or `'all'`). */
export const CamOptionsSchema = z
  .object({
    /** Classes whose map every result carries, or `'all'`. */
    classes: z.union([z.literal('all'), z.array(z.string().min(1))]).default([]),
    /** Also the map of every finding (a class at or above its recorded threshold). */
    findings: z.boolean().default(true),
  })
  .strict();
export type CamOptions = z.input<typeof CamOptionsSchema>;

/**
 * The classes whose maps every result carries (findings are added per image), checked against the model once;
 * null when the model has no maps. Errors name the model file: a class it lacks, or maps asked of a model exported
 * without them.
 */
export function camClassesOf(
  metadata: ModelMetadata,
  options: z.output<typeof CamOptionsSchema>,
  file: string,
): string[] | null {
  const has = metadata.outputs.some((o) => o.name === CAM_OUTPUT);
  const asked = options.classes === 'all' ? [...metadata.classNames] : options.classes;
  if (!has) {
    if (asked.length > 0)
      throw new DataError(
        'Model has no class activation maps: export it with cam: true (multichexnet export writes them unless --no-cam)',
        {
          file,
          field: `outputs.${CAM_OUTPUT}`,
          expected: `an output ${CAM_OUTPUT}`,
          found: metadata.outputs.map((o) => o.name).join(', '),
        },
      );
    return null;
  }
  const unknown = asked.filter((c) => !metadata.classNames.includes(c));
  if (unknown.length > 0)
    throw new DataError('Class activation map asked for a class the model lacks', {
      file,
      field: 'cam.classes',
      expected: `classes among ${metadata.classNames.join(', ')}`,
      found: unknown.join(', '),
    });
  return asked;
}

/**
 * `cls_cam` [B, C, h, w] NCHW of image `index` -> one {@link ClassActivationMap} per class of `classes` (model
 * class order), with the fit `transform` of that image and the model input side `inputSize`.
 *
 * @example
 * const cams = decodeCams(outputs, model.metadata, { transform, classes: ['Mass'] });   // cams.Mass.peak
 */
export function decodeCams(
  outputs: Record<string, TensorData>,
  metadata: ModelMetadata,
  options: { transform: FitTransform; classes: readonly string[]; index?: number },
): Record<string, ClassActivationMap> {
  const t = modelOutput(outputs, CAM_OUTPUT);
  const [rows, classes, height, width] = t.dims as [number, number, number, number];
  const index = options.index ?? 0;
  if (!(Number.isInteger(index) && index >= 0 && index < rows))
    throw new DataError('Image index outside the batch', {
      field: CAM_OUTPUT,
      expected: `0 <= index < ${rows}`,
      found: String(index),
    });
  const inputSize = metadata.preprocessing?.size ?? metadata.inputSize?.[0] ?? 0;
  const stride = inputSize / width;
  const cell = width * height;
  const out: Record<string, ClassActivationMap> = {};
  for (const className of metadata.classNames) {
    if (!options.classes.includes(className)) continue;
    const c = metadata.classNames.indexOf(className);
    if (c >= classes) continue;
    const data = t.data.slice((index * classes + c) * cell, (index * classes + c + 1) * cell);
    const tr = options.transform;
    const filmX = (gx: number): number => ((gx + 0.5) * stride - tr.offsetX) / tr.scaleX;
    const filmY = (gy: number): number => ((gy + 0.5) * stride - tr.offsetY) / tr.scaleY;
    // the peak among the cells centred on the film: letterbox padding holds no finding
    let best = -1;
    for (let i = 0; i < cell; i++) {
      const x = filmX(i % width);
      const y = filmY(Math.floor(i / width));
      const onFilm = x >= 0 && x < tr.width && y >= 0 && y < tr.height;
      if (onFilm && (best < 0 || data[i]! > data[best]!)) best = i;
    }
    if (best < 0) best = 0;
    const peak = { x: filmX(best % width), y: filmY(Math.floor(best / width)), value: data[best]! };
    out[className] = { className, width, height, data, stride, transform: tr, peak };
  }
  return out;
}

/**
 * A map brought onto the original film [transform.height, transform.width], row-major: each film pixel's centre
 * goes through the fit into model-input pixels, then is sampled bilinearly on the grid (cell centres at
 * (i + 0.5) * stride, clamped at the border). What overlays draw.
 *
 * @example
 * const heat = camToImage(result.cams!.Mass);   // Float32Array, width * height values
 */
export function camToImage(cam: ClassActivationMap): Float32Array {
  const { width: W, height: H, scaleX, scaleY, offsetX, offsetY } = cam.transform;
  const { width: w, height: h, data, stride } = cam;
  const out = new Float32Array(W * H);
  const gridOf = (p: number, scale: number, offset: number, n: number): number =>
    Math.min(Math.max((offset + (p + 0.5) * scale) / stride - 0.5, 0), n - 1);
  // the column taps are the same on every row: computed once (a full-size film has millions of pixels)
  const x0 = new Int32Array(W);
  const x1 = new Int32Array(W);
  const wx = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const g = gridOf(x, scaleX, offsetX, w);
    x0[x] = Math.floor(g);
    x1[x] = Math.min(x0[x]! + 1, w - 1);
    wx[x] = g - x0[x]!;
  }
  for (let y = 0; y < H; y++) {
    const g = gridOf(y, scaleY, offsetY, h);
    const r0 = Math.floor(g) * w;
    const r1 = Math.min(Math.floor(g) + 1, h - 1) * w;
    const wy = g - Math.floor(g);
    for (let x = 0; x < W; x++) {
      const a = x0[x]!;
      const b = x1[x]!;
      const top = data[r0 + a]! * (1 - wx[x]!) + data[r0 + b]! * wx[x]!;
      const bottom = data[r1 + a]! * (1 - wx[x]!) + data[r1 + b]! * wx[x]!;
      out[y * W + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/** Colour stops of the heat ramp (blue, cyan, green, yellow, red), from no evidence to the map's peak. */
const RAMP: readonly [number, number, number][] = [
  [0, 0, 255],
  [0, 255, 255],
  [0, 255, 0],
  [255, 255, 0],
  [255, 0, 0],
];

/**
 * A map as an RGBA heat layer at the film's size [H, W, 4]: the positive evidence scaled by the map's peak, coloured
 * on a blue-to-red ramp, alpha growing with it (negative and zero evidence transparent). Runs anywhere: the
 * demo puts it on a canvas, {@link renderCamOverlayPng} blends it over the film.
 *
 * @example
 * const rgba = camHeatRgba(result.cams!.Mass);   // Uint8ClampedArray, width * height * 4
 */
export function camHeatRgba(cam: ClassActivationMap): Uint8ClampedArray {
  const heat = camToImage(cam);
  const rgba = new Uint8ClampedArray(heat.length * 4);
  const top = cam.peak.value;
  if (!(top > 0)) return rgba;
  for (let i = 0; i < heat.length; i++) {
    const t = Math.min(1, Math.max(0, heat[i]! / top));
    if (t === 0) continue;
    const s = t * (RAMP.length - 1);
    const k = Math.min(RAMP.length - 2, Math.floor(s));
    const f = s - k;
    const a = RAMP[k]!;
    const b = RAMP[k + 1]!;
    rgba[i * 4] = a[0] + (b[0] - a[0]) * f;
    rgba[i * 4 + 1] = a[1] + (b[1] - a[1]) * f;
    rgba[i * 4 + 2] = a[2] + (b[2] - a[2]) * f;
    rgba[i * 4 + 3] = 255 * t;
  }
  return rgba;
}
