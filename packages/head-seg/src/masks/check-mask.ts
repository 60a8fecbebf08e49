import { DataError, type BinaryMask } from '@multichexnet/core';

/** Throws a DataError naming `field` unless `m` is a BinaryMask whose data length is width x height. */
export function checkMask(m: BinaryMask, field: string, row?: number): void {
  const ok =
    m !== null &&
    typeof m === 'object' &&
    Number.isInteger(m.width) &&
    Number.isInteger(m.height) &&
    m.width >= 0 &&
    m.height >= 0 &&
    m.data !== undefined &&
    m.data.length === m.width * m.height;
  if (!ok) {
    throw new DataError('Not a valid BinaryMask', {
      row,
      field,
      expected: '{ width, height, data } with data.length = width x height',
      found:
        m === null || typeof m !== 'object' ? String(m) : `${m.width} x ${m.height}, data length ${m.data?.length}`,
    });
  }
}
