import { DataError, type BinaryMask, type Box } from '@multichexnet/core';
import { checkMask } from './check-mask';

/** Options of {@link maskToBoxes}. */
export interface MaskToBoxesOptions {
  /** Pixel neighbourhood of a component: 8 (default, diagonal pixels connect) or 4. */
  connectivity?: 4 | 8;
  /** Components with fewer pixels are dropped (default 1: keep all). */
  minArea?: number;
}

/** A connected component of a mask: its bounding box and pixel count. */
export interface MaskComponent {
  box: Box;
  area: number;
}

/**
 * Connected components of a mask (any non-zero value is foreground), in raster order of their first pixel
 * (top row first, then left to right), with their pixel count and bounding box in pixels (top-left + size: a
 * component covering columns 3..5 has x 3 and width 3). A flood fill with an explicit stack, written here because
 * it is short, must run identically in browsers and Node, and needs no image library.
 */
export function maskComponents(mask: BinaryMask, options: MaskToBoxesOptions = {}): MaskComponent[] {
  checkMask(mask, 'mask');
  const connectivity = options.connectivity ?? 8;
  const minArea = options.minArea ?? 1;
  if (connectivity !== 4 && connectivity !== 8) {
    throw new DataError('connectivity must be 4 or 8', {
      field: 'connectivity',
      expected: '4 or 8',
      found: String(connectivity),
    });
  }
  const { width: W, height: H, data } = mask;
  const seen = new Uint8Array(W * H);
  const stack = new Int32Array(W * H);
  const out: MaskComponent[] = [];
  const dx = connectivity === 8 ? [-1, 0, 1, -1, 1, -1, 0, 1] : [0, -1, 1, 0];
  const dy = connectivity === 8 ? [-1, -1, -1, 0, 0, 1, 1, 1] : [-1, 0, 0, 1];
  for (let start = 0; start < W * H; start++) {
    if (data[start] === 0 || seen[start] === 1) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let area = 0;
    let x0 = W;
    let y0 = H;
    let x1 = -1;
    let y1 = -1;
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % W;
      const y = (p - x) / W;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let n = 0; n < dx.length; n++) {
        const nx = x + dx[n]!;
        const ny = y + dy[n]!;
        if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
        const q = ny * W + nx;
        if (data[q] !== 0 && seen[q] === 0) {
          seen[q] = 1;
          stack[top++] = q;
        }
      }
    }
    if (area >= minArea) out.push({ box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }, area });
  }
  return out;
}

/**
 * Bounding boxes of the connected components of a mask (8-connectivity by default), dropping components smaller
 * than `minArea` pixels. Used to derive detection boxes from SIIM pneumothorax masks for joint training.
 *
 * @example
 * maskToBoxes(mask, { minArea: 10 });   // [{ x: 612, y: 140, width: 88, height: 301 }, ...]
 */
export function maskToBoxes(mask: BinaryMask, options: MaskToBoxesOptions = {}): Box[] {
  return maskComponents(mask, options).map((c) => c.box);
}
