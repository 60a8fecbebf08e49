import { DataError, tf, type BinaryMask } from '@multichexnet/core';
import { checkMask } from './check-mask';

/**
 * Truth masks -> the seg target tensor [B, H, W, 1] (NHWC, 1 = foreground, 0 = background). A `null` entry means
 * "no seg label for this image": it is filled with NaN, which {@link segLoss} ignores. All masks must have the
 * same size; pass `size` when every entry is null.
 *
 * @example
 * const target = encodeSegTargets([mask0, null, emptyMask]);   // [3, 256, 256, 1]
 */
export function encodeSegTargets(
  masks: readonly (BinaryMask | null)[],
  size?: { width: number; height: number },
): tf.Tensor4D {
  const first = masks.find((m) => m !== null) ?? size;
  if (masks.length === 0 || first === undefined || first === null) {
    throw new DataError('encodeSegTargets needs at least one mask, or a size', {
      field: 'masks',
      expected: 'a non-empty array with a BinaryMask or a size',
      found: `${masks.length} entries`,
    });
  }
  const { width, height } = first;
  const n = width * height;
  const data = new Float32Array(masks.length * n);
  masks.forEach((m, i) => {
    if (m === null) {
      data.fill(Number.NaN, i * n, (i + 1) * n);
      return;
    }
    checkMask(m, 'masks', i + 1);
    if (m.width !== width || m.height !== height) {
      throw new DataError('All masks of a batch must have the same size', {
        row: i + 1,
        field: 'masks',
        expected: `${width} x ${height}`,
        found: `${m.width} x ${m.height}`,
      });
    }
    for (let j = 0; j < n; j++) data[i * n + j] = m.data[j] !== 0 ? 1 : 0;
  });
  return tf.tensor4d(data, [masks.length, height, width, 1]);
}
