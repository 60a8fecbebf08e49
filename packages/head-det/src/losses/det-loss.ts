import { assertShape, tf } from '@multichexnet/core';
import type { DetLossConfig } from '../config';
import { DET_VALUES_PER_ANCHOR, type DetLayout } from '../grid';
import type { DetTargets } from '../targets/encode-targets';
import { sigmoidBCEWithLogits } from './sigmoid-bce';

/** What {@link detLoss} needs from the head config. */
export interface DetLossSettings extends DetLayout {
  loss: DetLossConfig;
}

/**
 * [B, A] 0/1: unmatched anchors whose decoded box overlaps a truth box with IoU >= `threshold` (YOLOv2's
 * ignore rule). Wrapped in customGrad so the comparison sits outside the gradient tape: the rule only chooses
 * which anchors count, it is not differentiated.
 */
function ignoredAnchors(
  raw: tf.Tensor3D,
  truth: tf.Tensor3D,
  rows: number,
  cols: number,
  anchors: DetLayout['anchors'],
  threshold: number,
): tf.Tensor2D {
  const K = anchors.length;
  const A = rows * cols * K;
  const colOf = new Float32Array(A);
  const rowOf = new Float32Array(A);
  const aw = new Float32Array(A);
  const ah = new Float32Array(A);
  for (let a = 0; a < A; a++) {
    const cell = Math.floor(a / K);
    colOf[a] = cell % cols;
    rowOf[a] = Math.floor(cell / cols);
    aw[a] = anchors[a % K]!.width;
    ah[a] = anchors[a % K]!.height;
  }
  const f = tf.customGrad(((r: tf.Tensor, t: tf.Tensor) => {
    const value = tf.tidy(() => {
      const [tx, ty, tw, th] = tf.split(r, [1, 1, 1, 1, 1], 2) as tf.Tensor3D[];
      const cx = tf.div(tf.add(tf.tensor1d(colOf), tf.squeeze(tf.sigmoid(tx!), [2])), cols); // [B, A]
      const cy = tf.div(tf.add(tf.tensor1d(rowOf), tf.squeeze(tf.sigmoid(ty!), [2])), rows);
      const w = tf.mul(tf.tensor1d(aw), tf.exp(tf.squeeze(tw!, [2])));
      const h = tf.mul(tf.tensor1d(ah), tf.exp(tf.squeeze(th!, [2])));
      const px1 = tf.expandDims(tf.sub(cx, tf.div(w, 2)), 2); // [B, A, 1]
      const py1 = tf.expandDims(tf.sub(cy, tf.div(h, 2)), 2);
      const px2 = tf.expandDims(tf.add(cx, tf.div(w, 2)), 2);
      const py2 = tf.expandDims(tf.add(cy, tf.div(h, 2)), 2);
      const [tx1, ty1, tx2, ty2] = tf.split(tf.expandDims(t, 1), 4, 3).map((v) => tf.squeeze(v, [3])); // [B, 1, M]
      const iw = tf.relu(tf.sub(tf.minimum(px2, tx2!), tf.maximum(px1, tx1!)));
      const ih = tf.relu(tf.sub(tf.minimum(py2, ty2!), tf.maximum(py1, ty1!)));
      const inter = tf.mul(iw, ih); // [B, A, M]
      const areaP = tf.mul(tf.sub(px2, px1), tf.sub(py2, py1));
      const areaT = tf.mul(tf.sub(tx2!, tx1!), tf.sub(ty2!, ty1!));
      const union = tf.maximum(tf.sub(tf.add(areaP, areaT), inter), 1e-12);
      const best = tf.max(tf.div(inter, union), 2); // [B, A]
      return tf.cast(tf.greaterEqual(best, threshold), 'float32');
    });
    return { value, gradFunc: () => [tf.zerosLike(r), tf.zerosLike(t)] };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(raw, truth) as tf.Tensor2D;
}

/**
 * CheXDet loss, a scalar: the mean over labelled images of
 *
 *   coordWeight * sum over matched anchors of the squared error of (sigmoid(tx), sigmoid(ty), tw, th) against
 *   the targets (the paper's L2 box regression)
 *   + sum over all anchors of the objectness BCE on the logit, weighted objectWeight on matched anchors,
 *   noObjectWeight on the others, and 0 on unmatched anchors that the ignore rule (`ignoreIoU`) exempts.
 *
 * An image counts as labelled when `target.mask` (and `mask`, when given) is 1 and its targets hold no NaN;
 * images that do not count add nothing, and a batch with none gives 0 with zero gradients. An image with no boxes
 * is a labelled negative: only its objectness BCE counts. `output` is the raw head output [B, S_h, S_w, K*5].
 *
 * @example
 * const loss = detLoss(targets, head.apply(features, { training: true }), head.config);
 */
export function detLoss(
  target: DetTargets,
  output: tf.Tensor4D,
  settings: DetLossSettings,
  mask?: tf.Tensor1D,
): tf.Scalar {
  const K = settings.anchors.length;
  const [B, rows, cols] = target.objectness.shape;
  assertShape('det output', output.shape, [B, rows, cols, K * DET_VALUES_PER_ANCHOR]);
  assertShape('det target box', target.box.shape, [B, rows, cols, K, 4]);
  assertShape('det target mask', target.mask.shape, [B]);
  if (mask !== undefined) assertShape('det loss mask', mask.shape, [B]);
  const { coordWeight, objectWeight, noObjectWeight, ignoreIoU } = settings.loss;
  const A = rows * cols * K;
  return tf.tidy(() => {
    const raw = tf.reshape(output, [B, A, DET_VALUES_PER_ANCHOR]) as tf.Tensor3D;
    const objRaw = tf.reshape(target.objectness, [B, A]);
    const boxRaw = tf.reshape(target.box, [B, A, 4]);
    // NaN marks "no label": the image is switched off, and the NaNs are replaced so 0 * NaN never reaches the sum.
    const objNaN = tf.isNaN(objRaw);
    const boxNaN = tf.isNaN(boxRaw);
    const hasNaN = tf.logicalOr(tf.any(objNaN, 1), tf.any(tf.any(boxNaN, 2), 1));
    let valid = tf.mul(target.mask, tf.cast(tf.logicalNot(hasNaN), 'float32'));
    if (mask !== undefined) valid = tf.mul(valid, mask);
    const obj = tf.where(objNaN, tf.zerosLike(objRaw), objRaw);
    const tbox = tf.where(boxNaN, tf.zerosLike(boxRaw), boxRaw);

    const [txy, twh, to] = tf.split(raw, [2, 2, 1], 2);
    const pred = tf.concat([tf.sigmoid(txy!), twh!], 2); // [B, A, 4]
    const coord = tf.mul(tf.sum(tf.square(tf.sub(pred, tbox)), 2), obj); // [B, A]
    const logit = tf.squeeze(to!, [2]);
    const bce = sigmoidBCEWithLogits(logit, obj);
    let negWeight: tf.Tensor = tf.mul(tf.sub(1, obj), noObjectWeight);
    if (ignoreIoU !== null) {
      const ignored = ignoredAnchors(raw, target.truth, rows, cols, settings.anchors, ignoreIoU);
      negWeight = tf.mul(negWeight, tf.sub(1, tf.mul(ignored, tf.sub(1, obj))));
    }
    const objWeight = tf.add(tf.mul(obj, objectWeight), negWeight);
    const perAnchor = tf.add(tf.mul(coord, coordWeight), tf.mul(objWeight, bce));
    const perImage = tf.sum(perAnchor, 1); // [B]
    const kept = tf.where(tf.greater(valid, 0), perImage, tf.zerosLike(perImage));
    return tf.div(tf.sum(kept), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}
