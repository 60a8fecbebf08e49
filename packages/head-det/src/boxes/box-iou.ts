import type { Box } from '@multichexnet/core/base';

/**
 * Intersection over union of two pixel boxes (top-left + size), in [0, 1]. Continuous coordinates: x2 = x + width,
 * no "+1 pixel" (the RSNA metric's convention); boxes that only touch have IoU 0.
 *
 * @example
 * boxIoU({ x: 0, y: 0, width: 100, height: 100 }, { x: 0, y: 0, width: 100, height: 60 }); // 0.6
 */
export function boxIoU(a: Box, b: Box): number {
  const ix = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const iy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}
