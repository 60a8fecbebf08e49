import { DataError, type BinaryMask, type Box } from '@multichexnet/core';

/**
 * Boxes -> a filled BinaryMask of `width` x `height`: a pixel is set when its centre (col + 0.5, row + 0.5) lies
 * inside a box [x, x + width) x [y, y + height). Integer boxes therefore cover exactly columns x .. x + width - 1,
 * the inverse of {@link maskToBoxes} for rectangular components. Parts outside the image are ignored.
 *
 * @example
 * boxesToMask([{ x: 1, y: 0, width: 2, height: 1 }], 4, 2).data; // [0, 1, 1, 0, 0, 0, 0, 0]
 */
export function boxesToMask(boxes: readonly Box[], width: number, height: number): BinaryMask {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 0 && height >= 0)) {
    throw new DataError('Mask size must be non-negative integers', {
      field: 'width/height',
      expected: 'integers >= 0',
      found: `${width} x ${height}`,
    });
  }
  const data = new Uint8Array(width * height);
  boxes.forEach((b, i) => {
    for (const f of ['x', 'y', 'width', 'height'] as const) {
      if (!Number.isFinite(b[f]) || ((f === 'width' || f === 'height') && b[f] < 0)) {
        throw new DataError('Invalid box', {
          field: `boxes[${i}].${f}`,
          expected: 'a finite number (size >= 0)',
          found: String(b[f]),
        });
      }
    }
    const c0 = Math.max(0, Math.ceil(b.x - 0.5));
    const c1 = Math.min(width, Math.ceil(b.x + b.width - 0.5));
    const r0 = Math.max(0, Math.ceil(b.y - 0.5));
    const r1 = Math.min(height, Math.ceil(b.y + b.height - 0.5));
    for (let r = r0; r < r1; r++) data.fill(1, r * width + c0, r * width + Math.max(c0, c1));
  });
  return { width, height, data };
}
