import { DataError } from '../errors';

/**
 * A tensor as plain data with its dims, row-major: what onnxruntime returns, or a tfjs tensor's `dataSync()` with its
 * shape. The task decoders read only this, so they run without tfjs.
 */
export interface PlainTensor {
  data: ArrayLike<number>;
  dims: readonly number[];
}

/**
 * The values of row `index` of output `name` [B, ...] (a view where the data is a typed array): what one image's
 * decoder reads. A DataError names a missing output or an index outside the batch.
 *
 * @example
 * const probs = readRow({ cls_probs: { data, dims: [2, 14] } }, 'cls_probs', 1);   // 14 values of image 1
 */
export function readRow(
  outputs: Readonly<Record<string, PlainTensor>>,
  name: string,
  index: number,
): ArrayLike<number> {
  const t = outputs[name];
  if (t === undefined) {
    throw new DataError('Model output missing', {
      field: name,
      expected: `an output named ${name}`,
      found: Object.keys(outputs).join(', ') || '(none)',
    });
  }
  const rows = t.dims[0] ?? 1;
  if (!(Number.isInteger(index) && index >= 0 && index < rows)) {
    throw new DataError('Image index outside the batch', {
      field: name,
      expected: `0 <= index < ${rows}`,
      found: String(index),
    });
  }
  const per = t.data.length / rows;
  const data = t.data as ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> };
  return typeof data.subarray === 'function'
    ? data.subarray(index * per, (index + 1) * per)
    : Array.prototype.slice.call(data, index * per, (index + 1) * per);
}
