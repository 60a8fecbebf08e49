import { createRng, deriveSeed, type Rng } from '@multichexnet/core';
import { drawPose } from './anatomy';
import { closedSpline, ellipsePoints } from './geometry';
import { valueNoise } from './noise';
import {
  addEllipse,
  addGaussian,
  addScaled,
  blurField,
  createField,
  fillPolygon,
  fullRect,
  strokePolyline,
  type Field,
  type Point,
} from './raster';
import { renderFilm, toneMap } from './render';

/*
 * Images a chest X-ray model should refuse, for testing and measuring its out-of-distribution refusal: a lateral
 * chest view, radiographs of other anatomy (hand, knee), an axial CT slice, noise, a screenshot of text and
 * natural-image textures in gray. Each is drawn from its own seeded stream, like the chest films.
 */

/** Kinds of non-chest (or non-frontal) image the generator draws. */
export const NON_CHEST_KINDS = ['lateral', 'hand', 'knee', 'ct-slice', 'noise', 'text', 'texture'] as const;
export type NonChestKind = (typeof NON_CHEST_KINDS)[number];

/** An 8-bit gray image [H, W] row-major, MONOCHROME2 (0 = black). */
export interface GrayFilm {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/**
 * Renders one image of `kind` at `size` x `size`. The same seed gives the same pixels.
 *
 * @example
 * const hand = renderNonChest('hand', 256, createRng(7));   // { width: 256, height: 256, pixels }
 */
export function renderNonChest(kind: NonChestKind, size: number, rng: Rng): GrayFilm {
  const stream = (label: string): Rng => createRng(deriveSeed(rng.seed(), label));
  switch (kind) {
    case 'lateral': {
      const f = renderFilm({ size, view: 'L', sex: rng.bernoulli(0.5) ? 'M' : 'F', findings: [] }, stream('lateral'));
      return { width: f.width, height: f.height, pixels: f.pixels };
    }
    case 'hand':
      return radiograph(drawHand(size, stream('hand')), stream('film'));
    case 'knee':
      return radiograph(drawKnee(size, stream('knee')), stream('film'));
    case 'ct-slice':
      return toGray(drawCtSlice(size, stream('ct')), stream('ct-noise'), 0.015);
    case 'noise':
      return drawNoise(size, stream('noise'));
    case 'text':
      return toGray(drawText(size, stream('text')), stream('text-noise'), 0.004);
    case 'texture':
      return toGray(drawTexture(size, stream('texture')), stream('texture-noise'), 0.01);
  }
}

/** Density -> film through the chest renderer's tone curve and quantum noise (a radiograph of anything). */
function radiograph(density: Field, rng: Rng): GrayFilm {
  const pose = drawPose(rng, 'PA');
  return { width: density.width, height: density.height, pixels: toneMap(density, pose, rng) };
}

/** Brightness in [0, 1] -> 8-bit with a little Gaussian noise. */
function toGray(f: Field, rng: Rng, noise: number): GrayFilm {
  const pixels = new Uint8Array(f.data.length);
  for (let i = 0; i < pixels.length; i++)
    pixels[i] = Math.round(255 * Math.min(1, Math.max(0, f.data[i]! + rng.normal(0, noise))));
  return { width: f.width, height: f.height, pixels };
}

/** A hand, palm down, fingers up: soft tissue, metacarpals and three phalanges per finger (two for the thumb). */
function drawHand(size: number, rng: Rng): Field {
  const d = createField(size, size);
  const s = size;
  const tilt = rng.uniform(-0.25, 0.25);
  const cx = s * rng.uniform(0.45, 0.55);
  const rot = (x: number, y: number): Point => {
    const dx = x - cx;
    const dy = y - s * 0.6;
    return {
      x: cx + dx * Math.cos(tilt) - dy * Math.sin(tilt),
      y: s * 0.6 + dx * Math.sin(tilt) + dy * Math.cos(tilt),
    };
  };
  const soft = createField(size, size);
  const palm = [
    rot(cx - 0.2 * s, 0.98 * s),
    rot(cx + 0.2 * s, 0.98 * s),
    rot(cx + 0.22 * s, 0.55 * s),
    rot(cx - 0.2 * s, 0.5 * s),
  ];
  fillPolygon(soft, closedSpline(palm, 6), 1);
  const scratch = createField(size, size);
  const bones = createField(size, size);
  const fingers = [-0.15, -0.05, 0.05, 0.15];
  fingers.forEach((u, i) => {
    const len = s * (i === 0 || i === 3 ? 0.3 : 0.36) * rng.uniform(0.92, 1.05);
    const base = rot(cx + u * s, 0.55 * s);
    const tip = rot(cx + u * s * 1.25, 0.55 * s - len);
    let r = strokePolyline(scratch, [base, tip], s * 0.038, 'flat');
    addScaled(soft, scratch, 1, r);
    const meta0 = rot(cx + u * s * 0.6, 0.9 * s);
    r = strokePolyline(scratch, [meta0, base], s * 0.016, 'bone');
    addScaled(bones, scratch, 1, r);
    for (let k = 0; k < 3; k++) {
      const a = k / 3 + 0.02;
      const b = (k + 1) / 3 - 0.03;
      r = strokePolyline(scratch, [lerp(base, tip, a), lerp(base, tip, b)], s * (0.014 - 0.002 * k), 'bone');
      addScaled(bones, scratch, 1, r);
    }
  });
  const thumbBase = rot(cx - 0.2 * s, 0.8 * s);
  const thumbTip = rot(cx - 0.38 * s, 0.52 * s);
  let r = strokePolyline(scratch, [thumbBase, thumbTip], s * 0.04, 'flat');
  addScaled(soft, scratch, 1, r);
  for (let k = 0; k < 3; k++) {
    r = strokePolyline(
      scratch,
      [lerp(thumbBase, thumbTip, k / 3 + 0.03), lerp(thumbBase, thumbTip, (k + 1) / 3 - 0.03)],
      s * 0.015,
      'bone',
    );
    addScaled(bones, scratch, 1, r);
  }
  for (let k = 0; k < 7; k++)
    addEllipse(
      bones,
      cx + s * rng.uniform(-0.12, 0.12),
      s * rng.uniform(0.9, 0.97),
      s * 0.03,
      s * 0.025,
      rng.uniform(0, 3),
      0.8,
    );
  blurField(soft, s * 0.006);
  addScaled(d, soft, 0.55, fullRect(d), undefined, false);
  addScaled(d, bones, 0.9, fullRect(d), undefined, false);
  return d;
}

/** A knee, AP: femur from above, tibia and fibula from below, condyles, the patella over the joint. */
function drawKnee(size: number, rng: Rng): Field {
  const s = size;
  const d = createField(size, size);
  const cx = s * rng.uniform(0.45, 0.55);
  const joint = s * rng.uniform(0.45, 0.55);
  const soft = createField(size, size);
  fillPolygon(
    soft,
    closedSpline(
      [
        { x: cx - 0.3 * s, y: -0.05 * s },
        { x: cx + 0.3 * s, y: -0.05 * s },
        { x: cx + 0.27 * s, y: 1.05 * s },
        { x: cx - 0.25 * s, y: 1.05 * s },
      ],
      4,
    ),
    1,
  );
  blurField(soft, s * 0.01);
  addScaled(d, soft, 0.5, fullRect(d), undefined, false);
  const bone = createField(size, size);
  const scratch = createField(size, size);
  let r = strokePolyline(
    scratch,
    [
      { x: cx, y: -0.05 * s },
      { x: cx, y: joint - 0.08 * s },
    ],
    s * 0.09,
    'bone',
  );
  addScaled(bone, scratch, 1, r);
  addEllipse(bone, cx - 0.08 * s, joint - 0.05 * s, 0.09 * s, 0.06 * s, 0, 1);
  addEllipse(bone, cx + 0.08 * s, joint - 0.05 * s, 0.09 * s, 0.06 * s, 0, 1);
  addEllipse(bone, cx, joint + 0.06 * s, 0.16 * s, 0.05 * s, 0, 1);
  r = strokePolyline(
    scratch,
    [
      { x: cx - 0.02 * s, y: joint + 0.08 * s },
      { x: cx - 0.02 * s, y: 1.05 * s },
    ],
    s * 0.08,
    'bone',
  );
  addScaled(bone, scratch, 1, r);
  r = strokePolyline(
    scratch,
    [
      { x: cx + 0.13 * s, y: joint + 0.1 * s },
      { x: cx + 0.12 * s, y: 1.05 * s },
    ],
    s * 0.025,
    'bone',
  );
  addScaled(bone, scratch, 1, r);
  addEllipse(bone, cx, joint - 0.04 * s, 0.055 * s, 0.07 * s, 0, 0.5);
  blurField(bone, s * 0.004);
  addScaled(d, bone, 0.9, fullRect(d), undefined, false);
  return d;
}

/** An axial chest CT slice in a lung window: body ellipse, two dark lungs with vessels, mediastinum, spine, table. */
function drawCtSlice(size: number, rng: Rng): Field {
  const s = size;
  const f = createField(size, size);
  const cx = s / 2;
  const cy = s * 0.5;
  fillPolygon(f, ellipsePoints(cx, cy, s * rng.uniform(0.4, 0.46), s * rng.uniform(0.28, 0.34), 0, 96), 0.55);
  const lungs = createField(size, size);
  for (const side of [-1, 1])
    fillPolygon(lungs, ellipsePoints(cx + side * s * 0.17, cy - s * 0.01, s * 0.13, s * 0.2, side * 0.15, 64), 1);
  blurField(lungs, s * 0.004);
  for (let i = 0; i < f.data.length; i++) f.data[i] = f.data[i]! * (1 - 0.92 * lungs.data[i]!);
  for (let k = 0; k < 40; k++) {
    const side = rng.bernoulli(0.5) ? -1 : 1;
    addGaussian(
      f,
      cx + side * s * rng.uniform(0.08, 0.26),
      cy + s * rng.uniform(-0.15, 0.15),
      s * 0.004,
      s * 0.004,
      0.4,
    );
  }
  addEllipse(f, cx, cy - s * 0.02, s * 0.07, s * 0.09, 0, 0.1);
  addEllipse(f, cx, cy + s * 0.22, s * 0.05, s * 0.045, 0, 0.4);
  addEllipse(f, cx, cy - s * 0.3, s * 0.04, s * 0.015, 0, 0.3);
  const table = createField(size, size);
  const r = strokePolyline(
    table,
    [
      { x: 0, y: s * 0.9 },
      { x: s, y: s * 0.9 },
    ],
    s * 0.01,
    'flat',
  );
  addScaled(f, table, 0.35, r);
  return f;
}

/** Noise: white, salt-and-pepper or smooth value noise. */
function drawNoise(size: number, rng: Rng): GrayFilm {
  const pixels = new Uint8Array(size * size);
  const kind = rng.int(0, 3);
  if (kind === 2) {
    const f = valueNoise(size, size, size / rng.uniform(4, 16), rng, 4, 0.6);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(255 * Math.min(1, Math.max(0, f.data[i]!)));
  } else {
    for (let i = 0; i < pixels.length; i++) pixels[i] = kind === 0 ? rng.int(0, 256) : rng.bernoulli(0.5) ? 255 : 0;
  }
  return { width: size, height: size, pixels };
}

/** A screenshot of a document: a light page with a title bar and lines of dark word-shaped glyph runs. */
function drawText(size: number, rng: Rng): Field {
  const s = size;
  const f = createField(size, size);
  const paper = rng.uniform(0.85, 0.97);
  f.data.fill(paper);
  const bar = Math.round(s * 0.06);
  for (let i = 0; i < bar * s; i++) f.data[i] = rng.uniform(0.2, 0.3);
  const line = Math.max(6, Math.round(s * rng.uniform(0.035, 0.05)));
  const glyphH = Math.max(3, Math.round(line * 0.6));
  for (let y = bar + line; y + glyphH < s - line; y += line) {
    let x = Math.round(s * 0.06);
    const end = s - Math.round(s * rng.uniform(0.05, 0.3));
    while (x < end) {
      const word = rng.int(2, 9);
      for (let c = 0; c < word && x < end; c++) {
        const w = Math.max(2, Math.round(glyphH * rng.uniform(0.4, 0.8)));
        // a glyph: a few vertical and horizontal strokes in its cell
        for (let k = 0; k < 3; k++) {
          const vertical = rng.bernoulli(0.6);
          const gx = x + rng.int(0, w);
          const gy = y + rng.int(0, glyphH);
          for (let t = 0; t < (vertical ? glyphH : w); t++) {
            const px = vertical ? gx : x + t;
            const py = vertical ? y + t : gy;
            if (px < s && py < s) f.data[py * s + px] = 0.1;
          }
        }
        x += w + 1;
      }
      x += Math.round(glyphH * 0.8);
    }
  }
  return f;
}

/** Natural-image textures in gray: clouds, wood grain, bricks or grass. */
function drawTexture(size: number, rng: Rng): Field {
  const s = size;
  const kind = rng.int(0, 4);
  if (kind === 0) return valueNoise(s, s, s / rng.uniform(2, 6), rng, 5, 0.55);
  const f = createField(size, size);
  if (kind === 1) {
    const warp = valueNoise(s, s, s / 4, rng, 3, 0.5);
    const cx = s * rng.uniform(-0.5, 1.5);
    const cy = s * rng.uniform(-0.5, 1.5);
    const rings = rng.uniform(20, 50);
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++)
        f.data[y * s + x] = 0.45 + 0.3 * Math.sin((Math.hypot(x - cx, y - cy) / s) * rings + 6 * warp.data[y * s + x]!);
    return f;
  }
  if (kind === 2) {
    const bh = Math.round(s * rng.uniform(0.05, 0.1));
    const bw = bh * 2;
    const shade = valueNoise(s, s, bh, rng, 2, 0.5);
    for (let y = 0; y < s; y++) {
      const row = Math.floor(y / bh);
      const off = row % 2 === 0 ? 0 : bw / 2;
      for (let x = 0; x < s; x++) {
        const mortar = y % bh < 2 || (x + off) % bw < 2;
        f.data[y * s + x] = mortar ? 0.8 : 0.35 + 0.25 * shade.data[y * s + x]!;
      }
    }
    return f;
  }
  f.data.fill(0.25);
  const scratch = createField(size, size);
  for (let k = 0; k < s * 3; k++) {
    const x = rng.uniform(0, s);
    const y = rng.uniform(0, s);
    const len = s * rng.uniform(0.03, 0.1);
    const a = -Math.PI / 2 + rng.uniform(-0.4, 0.4);
    const r = strokePolyline(
      scratch,
      [
        { x, y },
        { x: x + len * Math.cos(a), y: y + len * Math.sin(a) },
      ],
      0.8,
      'flat',
    );
    addScaled(f, scratch, rng.uniform(0.1, 0.4), r);
  }
  return f;
}

function lerp(a: Point, b: Point, t: number): Point {
  return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
}

/**
 * Writes `perKind` PNGs of each kind into `dir/<kind>/<kind>-<i>.png` (8-bit gray, like the NIH films); returns
 * their paths by kind. Node only.
 *
 * @example
 * const files = await writeNonChestSet('ood-images', { perKind: 10, size: 256, seed: 1 });   // files.hand[0]
 */
export async function writeNonChestSet(
  dir: string,
  options: { perKind: number; size: number; seed: number; kinds?: readonly NonChestKind[] },
): Promise<Record<NonChestKind, string[]>> {
  const { createFileSink } = await import('./output');
  const { encodePngGray } = await import('./image-codec');
  const path = await import('node:path');
  const sink = await createFileSink(dir);
  const out = {} as Record<NonChestKind, string[]>;
  for (const kind of options.kinds ?? NON_CHEST_KINDS) {
    out[kind] = [];
    for (let i = 0; i < options.perKind; i++) {
      const img = renderNonChest(kind, options.size, createRng(deriveSeed(options.seed, `${kind}/${i}`)));
      const rel = `${kind}/${kind}-${i}.png`;
      await sink.write(rel, encodePngGray(img.pixels, img.width, img.height));
      out[kind].push(path.join(dir, rel));
    }
  }
  return out;
}
