import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { BinaryMask } from '@multichexnet/core';

/**
 * Test helper: reads the real SIIM `train-rle.csv.gz` and decodes positive rows with the competition's RLE rule
 * (DATASETS.md 3.2: relative starts, column-major flat order, so the image mask is the transpose).
 */
export function readSiimMasks(path: string, count: number): { imageId: string; mask: BinaryMask }[] {
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split(/\r?\n/);
  const out: { imageId: string; mask: BinaryMask }[] = [];
  for (let r = 1; r < lines.length && out.length < count; r++) {
    const [imageId, rle] = lines[r]!.split(',').map((s) => s.trim());
    if (imageId === undefined || rle === undefined || rle === '' || rle === '-1') continue;
    const size = 1024;
    const data = new Uint8Array(size * size);
    const v = rle.split(' ').map(Number);
    let pos = 0;
    for (let i = 0; i < v.length; i += 2) {
      pos += v[i]!;
      for (let j = pos; j < pos + v[i + 1]!; j++) {
        const col = Math.floor(j / size);
        const row = j % size;
        data[row * size + col] = 1;
      }
      pos += v[i + 1]!;
    }
    out.push({ imageId, mask: { width: size, height: size, data } });
  }
  return out;
}
