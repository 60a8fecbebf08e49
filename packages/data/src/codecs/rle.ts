import { DataError, type BinaryMask } from '@multichexnet/core/base';

/*
 * The SIIM-ACR run-length codec (the competition's `mask_functions.py`), written from its description in
 * specs/DATASETS.md §3.2. Hand-written because it is a dataset-specific format no library implements.
 *
 * Flat order: the competition decodes into a (width, height) array and every consumer transposes it, so the
 * flat index walks the image column by column: index i is row `i % height`, column `floor(i / height)`.
 * Starts are relative: the first is an absolute offset, each later one counts the background pixels since the
 * end of the previous run. `-1` (possibly with a leading space) means an empty mask.
 */

/** The string the SIIM files use for an image without pneumothorax. */
export const RLE_EMPTY = '-1';

/**
 * Mask [H, W], row-major, 1 = foreground: decodes one SIIM `EncodedPixels` value.
 *
 * `'-1'` and the empty string give an empty mask; leading/trailing spaces are ignored. Throws a
 * {@link DataError} when the string is not pairs of non-negative integers or a run leaves the image.
 *
 * @example
 * const mask = rleDecode('1 2 5 1', 4, 4); // pixels (row, col) = (1,0), (2,0), (0,2)
 */
export function rleDecode(rle: string, width: number, height: number): BinaryMask {
  const data = new Uint8Array(width * height);
  const text = rle.trim();
  if (text === '' || text === RLE_EMPTY) return { width, height, data };
  const parts = text.split(/\s+/);
  if (parts.length % 2 !== 0) {
    throw new DataError('RLE has an odd number of values', {
      field: 'EncodedPixels',
      expected: 'pairs of "start length"',
      found: `${parts.length} values`,
    });
  }
  const total = width * height;
  let pos = 0;
  for (let k = 0; k < parts.length; k += 2) {
    const start = parseRleInt(parts[k] as string);
    const length = parseRleInt(parts[k + 1] as string);
    pos += start;
    const end = pos + length;
    if (end > total) {
      throw new DataError('RLE run leaves the image', {
        field: 'EncodedPixels',
        expected: `runs within ${width}x${height} = ${total} pixels`,
        found: `a run ending at ${end}`,
      });
    }
    for (let i = pos; i < end; i++) {
      // column-major flat index -> row-major image index
      const row = i % height;
      const col = (i - row) / height;
      data[row * width + col] = 1;
    }
    pos = end;
  }
  return { width, height, data };
}

function parseRleInt(s: string): number {
  if (!/^\d+$/.test(s)) {
    throw new DataError('RLE value is not a non-negative integer', {
      field: 'EncodedPixels',
      expected: 'digits',
      found: JSON.stringify(s),
    });
  }
  return Number(s);
}

/**
 * Mask [H, W], row-major, nonzero = foreground → SIIM `EncodedPixels` string (`'-1'` when empty).
 *
 * Unlike the competition's original encoder, a run touching the last pixel is written out (the original drops
 * it), so `rleDecode(rleEncode(m))` always equals `m`.
 *
 * @example
 * rleEncode({ width: 4, height: 4, data: mask }); // '1 2 5 1'
 */
export function rleEncode(mask: BinaryMask): string {
  const { width, height, data } = mask;
  // Scanning a 1024x1024 mask in column-major order strides through memory. Instead: scan row-major, four
  // bytes at a time (most of a mask is background), then counting-sort the foreground pixels by column, which
  // yields the column-major order in linear time. About 8x faster than the direct loop on SIIM masks.
  const fg = foregroundRowMajor(data);
  const n = fg.length;
  if (n === 0) return RLE_EMPTY;
  const perCol = new Uint32Array(width + 1);
  for (let k = 0; k < n; k++) perCol[((fg[k] as number) % width) + 1]++;
  for (let c = 0; c < width; c++) (perCol[c + 1] as number) += perCol[c] as number;
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const p = fg[k] as number;
    const col = p % width;
    order[perCol[col]++] = col * height + (p - col) / width;
  }
  const out: number[] = [];
  let lastEnd = 0;
  let runStart = order[0] as number;
  let prev = runStart;
  for (let k = 1; k <= n; k++) {
    const cur = k < n ? (order[k] as number) : -1;
    if (cur !== prev + 1) {
      out.push(runStart - lastEnd, prev + 1 - runStart);
      lastEnd = prev + 1;
      runStart = cur;
    }
    prev = cur;
  }
  return out.join(' ');
}

/** Row-major indices of the nonzero bytes, ascending. */
function foregroundRowMajor(data: Uint8Array): Uint32Array {
  const bytes = data.byteOffset % 4 === 0 ? data : data.slice();
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let idx = new Uint32Array(4096);
  let n = 0;
  const visit = (base: number, end: number): void => {
    for (let p = base; p < end; p++) {
      if (bytes[p] === 0) continue;
      if (n === idx.length) {
        const grown = new Uint32Array(idx.length * 2);
        grown.set(idx);
        idx = grown;
      }
      idx[n++] = p;
    }
  };
  const nw = words.length;
  let w = 0;
  for (; w + 4 <= nw; w += 4) {
    if (((words[w] as number) | (words[w + 1] as number) | (words[w + 2] as number) | (words[w + 3] as number)) !== 0) {
      visit(w << 2, (w + 4) << 2);
    }
  }
  visit(w << 2, bytes.length);
  return idx.subarray(0, n);
}
