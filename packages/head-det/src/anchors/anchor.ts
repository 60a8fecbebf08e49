/**
 * An anchor shape: width and height as fractions of the image (0..1], independent of the input resolution, so
 * the same anchors serve a 256 px and a 512 px model.
 */
export interface Anchor {
  width: number;
  height: number;
}

/**
 * IoU of two box shapes placed on the same centre (YOLOv2's k-means distance and the anchor-matching rule).
 * Scalar in [0, 1].
 *
 * @example
 * shapeIoU({ width: 0.2, height: 0.4 }, { width: 0.2, height: 0.2 }); // 0.5
 */
export function shapeIoU(a: Anchor, b: Anchor): number {
  const inter = Math.min(a.width, b.width) * Math.min(a.height, b.height);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}
