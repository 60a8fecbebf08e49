import { DataError, type Rng } from '@multichexnet/core/base';
import type { LabeledBox } from '../datasets/sample';
import type { AugmentConfig, PreprocessConfig } from './config';
import type { FittedSample } from './fit-sample';

/** One draw of the augmentation ranges. */
export interface AugmentParams {
  angleRad: number;
  scale: number;
  /** Translation in pixels of the S x S input. */
  tx: number;
  ty: number;
  flip: boolean;
  contrast: number;
  brightness: number;
  gamma: number;
}

/** The identity draw (what inference uses). */
export const NO_AUGMENT: Readonly<AugmentParams> = Object.freeze({
  angleRad: 0,
  scale: 1,
  tx: 0,
  ty: 0,
  flip: false,
  contrast: 1,
  brightness: 0,
  gamma: 1,
});

/** Draws augmentation parameters, always in the same order (so a seed fixes them). */
export function drawAugment(cfg: AugmentConfig, rng: Rng, size: number): AugmentParams {
  const angleRad = (rng.uniform(-cfg.rotationDeg, cfg.rotationDeg) * Math.PI) / 180;
  const scale = rng.uniform(cfg.scale[0], cfg.scale[1]);
  const tx = rng.uniform(-cfg.translate, cfg.translate) * size;
  const ty = rng.uniform(-cfg.translate, cfg.translate) * size;
  const flip = rng.next() < cfg.flipHorizontal;
  const contrast = rng.uniform(cfg.contrast[0], cfg.contrast[1]);
  const brightness = rng.uniform(cfg.brightness[0], cfg.brightness[1]);
  const gamma = rng.uniform(cfg.gamma[0], cfg.gamma[1]);
  return { angleRad, scale, tx, ty, flip, contrast, brightness, gamma };
}

/** A fitted sample ready for the model: normalised image, mask and boxes after the same geometric transform. */
export interface ModelSample {
  /** Image [S, S], row-major, `(x - mean) / std`. */
  image: Float32Array;
  /** Mask [S, S], 1 = foreground. */
  mask?: Uint8Array;
  /** Boxes in S x S pixels, clipped to the image; boxes pushed out of view are dropped. */
  boxes?: LabeledBox[];
}

function isIdentityGeometry(p: AugmentParams): boolean {
  return p.angleRad === 0 && p.scale === 1 && p.tx === 0 && p.ty === 0 && !p.flip;
}

/**
 * Fitted sample → model sample: geometric augmentation (rotation and scale about the centre, translation,
 * optional flip; bilinear for the image, nearest for the mask, corner hull for boxes), then gamma, contrast
 * and brightness on [0, 1] intensities, then `(x - mean) / std`. With {@link NO_AUGMENT} it is the plain
 * inference preprocessing.
 */
export function finishSample(
  f: FittedSample,
  config: Pick<PreprocessConfig, 'mean' | 'std'>,
  p: AugmentParams = NO_AUGMENT,
): ModelSample {
  const S = f.size;
  const n = S * S;
  const inv = 1 / f.imageScale;
  let img: Float32Array = new Float32Array(n);
  let mask = f.mask;
  let boxes = f.boxes;
  if (isIdentityGeometry(p)) {
    for (let i = 0; i < n; i++) img[i] = (f.image[i] as number) * inv;
  } else {
    const c = S / 2;
    const cos = Math.cos(-p.angleRad) / p.scale;
    const sin = Math.sin(-p.angleRad) / p.scale;
    const outMask = f.mask === undefined ? undefined : new Uint8Array(n);
    for (let v = 0; v < S; v++) {
      for (let u = 0; u < S; u++) {
        const qx = u + 0.5 - c - p.tx;
        const qy = v + 0.5 - c - p.ty;
        let px = c + cos * qx - sin * qy;
        const py = c + sin * qx + cos * qy;
        if (p.flip) px = S - px;
        // bilinear on pixel centres
        const sx = px - 0.5;
        const sy = py - 0.5;
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        let acc = 0;
        for (let dy = 0; dy < 2; dy++) {
          const yy = y0 + dy;
          if (yy < 0 || yy >= S) continue;
          const wy = dy === 0 ? 1 - fy : fy;
          for (let dx = 0; dx < 2; dx++) {
            const xx = x0 + dx;
            if (xx < 0 || xx >= S) continue;
            acc += (f.image[yy * S + xx] as number) * wy * (dx === 0 ? 1 - fx : fx);
          }
        }
        img[v * S + u] = acc * inv;
        if (outMask !== undefined && f.mask !== undefined) {
          const mx = Math.floor(px);
          const my = Math.floor(py);
          if (mx >= 0 && mx < S && my >= 0 && my < S) outMask[v * S + u] = f.mask[my * S + mx] as number;
        }
      }
    }
    mask = outMask;
    if (f.boxes !== undefined) boxes = transformBoxes(f.boxes, p, S);
  }
  img = adjustIntensity(img, p);
  const { mean, std } = config;
  if (typeof mean !== 'number' || typeof std !== 'number') {
    throw new DataError('Training batches are one grey channel: per-channel mean / std apply to inference only', {
      field: 'preprocess.mean',
      expected: 'one number (channels 1)',
      found: JSON.stringify(mean),
    });
  }
  for (let i = 0; i < n; i++) img[i] = ((img[i] as number) - mean) / std;
  const out: ModelSample = { image: img };
  if (mask !== undefined) out.mask = mask === f.mask ? mask.slice() : mask;
  if (boxes !== undefined) out.boxes = boxes === f.boxes ? boxes.map((b) => ({ ...b })) : boxes;
  return out;
}

function adjustIntensity(img: Float32Array, p: AugmentParams): Float32Array {
  if (p.gamma === 1 && p.contrast === 1 && p.brightness === 0) return img;
  const n = img.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const g = Math.pow(Math.min(1, Math.max(0, img[i] as number)), p.gamma);
    img[i] = g;
    sum += g;
  }
  const m = sum / n;
  for (let i = 0; i < n; i++)
    img[i] = Math.min(1, Math.max(0, ((img[i] as number) - m) * p.contrast + m + p.brightness));
  return img;
}

/** Forward geometric transform of box corners, axis-aligned hull, clipped; boxes under 1 px are dropped. */
function transformBoxes(boxes: readonly LabeledBox[], p: AugmentParams, S: number): LabeledBox[] {
  const c = S / 2;
  const cos = Math.cos(p.angleRad) * p.scale;
  const sin = Math.sin(p.angleRad) * p.scale;
  const fwd = (x: number, y: number): [number, number] => {
    const fx = (p.flip ? S - x : x) - c;
    const fy = y - c;
    return [c + cos * fx - sin * fy + p.tx, c + sin * fx + cos * fy + p.ty];
  };
  const out: LabeledBox[] = [];
  for (const b of boxes) {
    const pts = [fwd(b.x, b.y), fwd(b.x + b.width, b.y), fwd(b.x, b.y + b.height), fwd(b.x + b.width, b.y + b.height)];
    const x0 = Math.max(0, Math.min(...pts.map((q) => q[0])));
    const y0 = Math.max(0, Math.min(...pts.map((q) => q[1])));
    const x1 = Math.min(S, Math.max(...pts.map((q) => q[0])));
    const y1 = Math.min(S, Math.max(...pts.map((q) => q[1])));
    if (x1 - x0 >= 1 && y1 - y0 >= 1) out.push({ ...b, x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
  }
  return out;
}
