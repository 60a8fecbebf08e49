import { DataError, tf, type Box } from '@multichexnet/core';
import { shapeIoU } from '../anchors/anchor';
import { checkBoxes } from '../boxes/check-boxes';
import { gridOf, sizeOf, type DetLayout, type ImageSize } from '../grid';

/**
 * Training targets of CheXDet for a batch of B images on an S_h x S_w grid with K anchors.
 * Build them with {@link encodeDetTargets}; dispose them after use.
 */
export interface DetTargets {
  /**
   * Regression targets [B, S_h, S_w, K, 4] of matched anchors, in the order the loss compares them with the
   * prediction: (x offset in the cell in [0, 1], y offset, log(w / anchor_w), log(h / anchor_h)); 0 elsewhere.
   */
  box: tf.Tensor5D;
  /**
   * Objectness targets [B, S_h, S_w, K], 1 where an anchor is matched to a truth box, else 0; NaN without a det label.
   */
  objectness: tf.Tensor4D;
  /**
   * Truth boxes [B, M, 4] as normalised corners (x1, y1, x2, y2) in [0, 1], zero-padded to M = max(1, most
   * boxes in one image). The loss uses them for the ignore rule.
   */
  truth: tf.Tensor3D;
  /** Label mask [B], 1 for an image with a det label (boxes, possibly none), 0 for an image without one (`null`). */
  mask: tf.Tensor1D;
  /** Truth boxes that found no free anchor in their cell (every anchor there was taken); not regressed. */
  readonly dropped: number;
}

/** Disposes every tensor of a {@link DetTargets}. */
export function disposeDetTargets(t: DetTargets): void {
  tf.dispose([t.box, t.objectness, t.truth, t.mask]);
}

/**
 * Encodes the ground-truth boxes of a batch as CheXDet training targets.
 *
 * Matching rule (YOLOv2): each truth box belongs to the grid cell that holds its centre (a centre on the right or
 * bottom image edge goes to the last cell) and, in that cell, to the anchor whose shape is most like its own
 * (highest IoU of the two shapes centred on each other; equal IoUs go to the lower anchor index). When several
 * boxes fall into one cell, the (box, anchor) pairs of the cell are assigned greedily by decreasing shape IoU
 * (ties: lower box index, then lower anchor index), each box and each anchor used once; a box left without a free
 * anchor is counted in `dropped` and not regressed (it still counts as truth for the ignore rule).
 * Boxes are clipped to the image first.
 *
 * `boxesPerImage[i]`: the boxes of image i in pixels of the network input (`imageSize`, which must be a multiple
 * of the level's stride); `[]` is a valid negative image, `null` means "no det label" (masked out of the loss).
 *
 * @example
 * const t = encodeDetTargets([[{ x: 64, y: 32, width: 60, height: 120 }], [], null], 256, head.config);
 * const loss = head.loss(t, head.apply(features, { training: true }));
 */
export function encodeDetTargets(
  boxesPerImage: readonly (readonly Box[] | null)[],
  imageSize: ImageSize,
  layout: DetLayout,
): DetTargets {
  if (!Array.isArray(boxesPerImage) || boxesPerImage.length === 0) {
    throw new DataError('encodeDetTargets needs one entry per image', {
      field: 'boxesPerImage',
      expected: 'a non-empty array of Box[] or null',
      found: JSON.stringify(boxesPerImage),
    });
  }
  const { width: W, height: H } = sizeOf(imageSize);
  const { rows, cols } = gridOf(layout, imageSize);
  const anchors = layout.anchors;
  const K = anchors.length;
  const B = boxesPerImage.length;
  const cellAnchors = rows * cols * K;
  const box = new Float32Array(B * cellAnchors * 4);
  const obj = new Float32Array(B * cellAnchors);
  const mask = new Float32Array(B);
  const M = Math.max(1, ...boxesPerImage.map((b) => (b === null ? 0 : b.length)));
  const truth = new Float32Array(B * M * 4);
  let dropped = 0;

  boxesPerImage.forEach((boxes, b) => {
    if (boxes === null) {
      obj.fill(Number.NaN, b * cellAnchors, (b + 1) * cellAnchors);
      return;
    }
    mask[b] = 1;
    checkBoxes(boxes, { field: 'boxes', row: b + 1 });
    // cell index -> candidate (box, anchor, shape IoU) pairs
    const byCell = new Map<number, { box: number; anchor: number; iou: number }[]>();
    const norm: { cx: number; cy: number; w: number; h: number }[] = [];
    boxes.forEach((bx: Box, i: number) => {
      const x1 = Math.max(0, bx.x);
      const y1 = Math.max(0, bx.y);
      const x2 = Math.min(W, bx.x + bx.width);
      const y2 = Math.min(H, bx.y + bx.height);
      if (!(x2 > x1 && y2 > y1)) {
        throw new DataError('Box has no area inside the image', {
          row: b + 1,
          field: `boxes[${i}]`,
          expected: `a box overlapping the ${W} x ${H} image with width and height > 0`,
          found: JSON.stringify(bx),
        });
      }
      const n = { cx: (x1 + x2) / 2 / W, cy: (y1 + y2) / 2 / H, w: (x2 - x1) / W, h: (y2 - y1) / H };
      norm.push(n);
      const t = (b * M + i) * 4;
      truth.set([x1 / W, y1 / H, x2 / W, y2 / H], t);
      const col = Math.min(cols - 1, Math.floor(n.cx * cols));
      const row = Math.min(rows - 1, Math.floor(n.cy * rows));
      const cell = row * cols + col;
      const list = byCell.get(cell) ?? [];
      anchors.forEach((a, k) => list.push({ box: i, anchor: k, iou: shapeIoU({ width: n.w, height: n.h }, a) }));
      byCell.set(cell, list);
    });
    for (const [cell, pairs] of byCell) {
      pairs.sort((p, q) => q.iou - p.iou || p.box - q.box || p.anchor - q.anchor);
      const usedBox = new Set<number>();
      const usedAnchor = new Set<number>();
      for (const p of pairs) {
        if (usedBox.has(p.box) || usedAnchor.has(p.anchor)) continue;
        usedBox.add(p.box);
        usedAnchor.add(p.anchor);
        const n = norm[p.box]!;
        const a = anchors[p.anchor]!;
        const row = Math.floor(cell / cols);
        const col = cell % cols;
        const idx = b * cellAnchors + cell * K + p.anchor;
        obj[idx] = 1;
        box.set([n.cx * cols - col, n.cy * rows - row, Math.log(n.w / a.width), Math.log(n.h / a.height)], idx * 4);
      }
      const boxesInCell = new Set(pairs.map((p) => p.box)).size;
      dropped += boxesInCell - usedBox.size;
    }
  });

  return {
    box: tf.tensor5d(box, [B, rows, cols, K, 4]),
    objectness: tf.tensor4d(obj, [B, rows, cols, K]),
    truth: tf.tensor3d(truth, [B, M, 4]),
    mask: tf.tensor1d(mask),
    dropped,
  };
}
