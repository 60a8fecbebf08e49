import { DataError } from '@multichexnet/core/base';
import { Inflate } from 'fflate';
import { MAX_RADIOGRAPH_PIXELS } from './assert-radiograph';

/**
 * The default bound on what a deflated DICOM data set may expand to: the 16-bit pixels of the largest radiograph
 * accepted ({@link MAX_RADIOGRAPH_PIXELS}), twice over for the other elements. A few kilobytes of deflate can
 * expand a thousandfold, so a file is never inflated without a bound.
 */
export const DEFAULT_MAX_INFLATED_BYTES = 4 * MAX_RADIOGRAPH_PIXELS;

/** Input fed to the inflater per step: at most ~1032 x this much output appears between two checks of the bound. */
const STEP = 4096;

/**
 * A dicom-parser `inflater` for Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99): the bytes up to
 * `position` (preamble and meta group) followed by the inflated data set. Throws a {@link DataError} naming the file
 * as soon as the output passes `maxBytes`, before allocating more, and when the deflate stream is damaged.
 */
export function boundedInflater(maxBytes: number, file: string): (bytes: Uint8Array, position: number) => Uint8Array {
  return (bytes, position) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const inflate = new Inflate((chunk) => {
      total += chunk.length;
      if (total > maxBytes) {
        throw new DataError('DICOM deflated data set expands past the limit', {
          file,
          field: 'maxInflatedBytes',
          expected: `at most ${maxBytes} bytes inflated`,
          found: `more than ${maxBytes} bytes`,
        });
      }
      chunks.push(chunk.slice());
    });
    const deflated = bytes.subarray(position);
    try {
      if (deflated.length === 0) inflate.push(deflated, true);
      for (let o = 0; o < deflated.length; o += STEP)
        inflate.push(deflated.subarray(o, o + STEP), o + STEP >= deflated.length);
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError(
        'DICOM deflated data set cannot be inflated',
        {
          file,
          field: '(0002,0010) TransferSyntaxUID 1.2.840.10008.1.2.1.99',
          expected: 'a raw deflate stream after the meta group',
          found: err instanceof Error ? err.message : String(err),
        },
        { cause: err },
      );
    }
    const out = new Uint8Array(position + total);
    out.set(bytes.subarray(0, position));
    let o = position;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  };
}
