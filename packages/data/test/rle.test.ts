import { describe, expect, it } from 'vitest';
import { DataError } from '@multichexnet/core';
import { rleDecode, rleEncode } from '../src/codecs/rle';
import { itOnRealFile, readGzText } from './realdata';

const SIIM = 'siim-pneumothorax-train-rle.csv.gz';

function maskOf(width: number, height: number, on: [number, number][]): Uint8Array {
  const data = new Uint8Array(width * height);
  for (const [row, col] of on) data[row * width + col] = 1;
  return data;
}

describe('rleDecode / rleEncode (SIIM codec)', () => {
  it('decodes the spec worked example 4x4 "1 2 5 1" to (1,0), (2,0), (0,2)', () => {
    const m = rleDecode('1 2 5 1', 4, 4);
    expect(m.width).toBe(4);
    expect(m.height).toBe(4);
    expect(Array.from(m.data)).toEqual(
      Array.from(
        maskOf(4, 4, [
          [1, 0],
          [2, 0],
          [0, 2],
        ]),
      ),
    );
    expect(rleEncode(m)).toBe('1 2 5 1');
  });

  it('is column-major on a non-square image (row = i % height)', () => {
    // width 3, height 2: flat index 3 is column 1, row 1
    const m = rleDecode('3 1', 3, 2);
    expect(Array.from(m.data)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(rleEncode(m)).toBe('3 1');
  });

  it('maps -1, " -1" and the empty string to an empty mask and back to -1', () => {
    for (const s of ['-1', ' -1', '', '  ']) {
      const m = rleDecode(s, 4, 4);
      expect(m.data.every((v) => v === 0)).toBe(true);
    }
    expect(rleEncode({ width: 4, height: 4, data: new Uint8Array(16) })).toBe('-1');
  });

  it('trims a leading space on a positive value', () => {
    expect(Array.from(rleDecode(' 1 2 5 1', 4, 4).data)).toEqual(Array.from(rleDecode('1 2 5 1', 4, 4).data));
  });

  it('flushes a run that touches the last pixel', () => {
    const m = { width: 4, height: 4, data: maskOf(4, 4, [[3, 3]]) };
    expect(rleEncode(m)).toBe('15 1');
    expect(rleEncode({ width: 4, height: 4, data: new Uint8Array(16).fill(1) })).toBe('0 16');
    expect(Array.from(rleDecode('15 1', 4, 4).data)).toEqual(Array.from(m.data));
  });

  it('treats any nonzero mask value (e.g. 255) as foreground when encoding', () => {
    const data = maskOf(4, 4, [
      [1, 0],
      [2, 0],
      [0, 2],
    ]).map((v) => v * 255);
    expect(rleEncode({ width: 4, height: 4, data })).toBe('1 2 5 1');
  });

  it('rejects malformed strings with a DataError', () => {
    expect(() => rleDecode('1 2 5', 4, 4)).toThrow(DataError);
    expect(() => rleDecode('1 x', 4, 4)).toThrow(DataError);
    expect(() => rleDecode('NaN 1', 4, 4)).toThrow(DataError);
    expect(() => rleDecode('-3 1', 4, 4)).toThrow(DataError);
    expect(() => rleDecode('10 7', 4, 4)).toThrow(/leaves the image/);
  });

  itOnRealFile(SIIM, 'round-trips every row of the real SIIM train-rle.csv byte-identically', (path) => {
    const lines = readGzText(path).split('\n');
    expect(lines[0]).toBe('ImageId, EncodedPixels');
    const rows = lines.slice(1).filter((l) => l !== '');
    expect(rows.length).toBe(12954);
    let positives = 0;
    const mismatches: string[] = [];
    for (const line of rows) {
      const rle = line.slice(line.indexOf(',') + 1).trim();
      if (rle !== '-1') positives++;
      // one expect at the end: 12,954 expect() calls would dominate the run time
      if (rleEncode(rleDecode(rle, 1024, 1024)) !== rle) mismatches.push(line.slice(0, 60));
    }
    expect(mismatches).toEqual([]);
    expect(positives).toBe(3576);
  });
});
