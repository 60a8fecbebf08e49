import { createInflateRaw } from 'node:zlib';
import { DataError } from '@multichexnet/core';

/** Deflated Explicit VR Little Endian: the data set after the file meta group is one raw deflate stream. */
export const DEFLATED_TRANSFER_SYNTAX = '1.2.840.10008.1.2.1.99';

/**
 * The inflate bound of a screening worker, whose files are not limited by an upload size: 8 x 2^25 pixels of 16 bits.
 */
export const WORKER_MAX_INFLATED_BYTES = 512 * 1024 * 1024;

/** A deflated DICOM data set that inflates past the limit (a DataError: bad input; `serve` answers it with 413). */
export class InflateLimitError extends DataError {}

// VRs whose explicit-VR length field is 4 bytes after 2 reserved ones (PS3.5 7.1.2).
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * The transfer syntax of a Part 10 file and where its data set starts, or null when the bytes are not a Part 10
 * file or their meta group is damaged (the decoder then says what is wrong). Hand-written: the file meta group
 * is always explicit VR little endian and this walks it the way dicom-parser's readPart10Header does (up to the
 * first tag past group 0002), reading only two fields; dicom-parser itself would already inflate the data set,
 * without any bound, which is what this check must come before.
 */
function readFileMeta(bytes: Uint8Array): { transferSyntax: string; dataSetOffset: number } | null {
  if (bytes.length < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d)
    return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (at: number, n: number): string => String.fromCharCode(...bytes.subarray(at, at + n));
  let o = 132;
  let transferSyntax: string | null = null;
  while (o + 8 <= bytes.length && dv.getUint16(o, true) <= 0x0002) {
    const element = dv.getUint16(o + 2, true);
    const long = LONG_VRS.has(ascii(o + 4, 2));
    if (long && o + 12 > bytes.length) return null;
    const length = long ? dv.getUint32(o + 8, true) : dv.getUint16(o + 6, true);
    const value = o + (long ? 12 : 8);
    if (length === 0xffffffff || value + length > bytes.length) return null;
    if (element === 0x0010) transferSyntax = ascii(value, length).replace(/[\0 ]+$/, '');
    o = value + length;
  }
  return transferSyntax === null ? null : { transferSyntax, dataSetOffset: o };
}

/** Bytes a raw deflate stream inflates to, counted without keeping them; stops as soon as the count passes `limit`. */
function inflatedSize(deflated: Uint8Array, limit: number, label: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflate = createInflateRaw();
    let total = 0;
    let settled = false;
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit && !settled) {
        settled = true;
        inflate.destroy();
        resolve(total);
      }
    });
    inflate.on('end', () => {
      if (!settled) resolve(total);
      settled = true;
    });
    inflate.on('error', (e) => {
      if (settled) return;
      settled = true;
      reject(
        new DataError(
          'Deflated DICOM data set cannot be inflated',
          { file: label, field: 'data set', expected: 'a raw deflate stream', found: e.message },
          { cause: e },
        ),
      );
    });
    inflate.end(deflated);
  });
}

/**
 * Refuses a deflated DICOM (transfer syntax {@link DEFLATED_TRANSFER_SYNTAX}) whose data set inflates to more than
 * `limit` bytes, before any decoder inflates it: a few kilobytes of deflate stream can stand for gigabytes. The
 * stream is inflated once and counted, with memory of one zlib chunk; other inputs pass untouched.
 *
 * @example
 * await assertInflatedSize(bytes, 32 * 1024 * 1024, 'upload'); // throws InflateLimitError for a deflate bomb
 */
export async function assertInflatedSize(bytes: Uint8Array, limit: number, label: string): Promise<void> {
  const meta = readFileMeta(bytes);
  if (meta === null || meta.transferSyntax !== DEFLATED_TRANSFER_SYNTAX) return;
  const size = await inflatedSize(bytes.subarray(meta.dataSetOffset), limit, label);
  if (size > limit) {
    throw new InflateLimitError('Deflated DICOM data set inflates past the limit', {
      file: label,
      field: 'data set',
      expected: `at most ${limit} bytes once inflated`,
      found: `more than ${limit} bytes`,
    });
  }
}
