import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from '@multichexnet/core';
import { NON_CHEST_KINDS, renderFilm, renderNonChest, writeNonChestSet } from '../src/index';

const mean = (p: Uint8Array): number => p.reduce((a, b) => a + b, 0) / p.length;
const sd = (p: Uint8Array): number => {
  const m = mean(p);
  return Math.sqrt(p.reduce((a, b) => a + (b - m) ** 2, 0) / p.length);
};

describe('renderNonChest', () => {
  it.each(NON_CHEST_KINDS)(
    '%s: the size asked for, the same pixels for the same seed, other pixels for another',
    (kind) => {
      const a = renderNonChest(kind, 96, createRng(3));
      const b = renderNonChest(kind, 96, createRng(3));
      const c = renderNonChest(kind, 96, createRng(4));
      expect([a.width, a.height, a.pixels.length]).toEqual([96, 96, 96 * 96]);
      expect(Buffer.from(a.pixels).equals(Buffer.from(b.pixels))).toBe(true);
      expect(Buffer.from(a.pixels).equals(Buffer.from(c.pixels))).toBe(false);
      // an image, not a blank: some contrast
      expect(sd(a.pixels)).toBeGreaterThan(5);
    },
  );

  it('draws images unlike a frontal film of the same seed', () => {
    const film = renderFilm({ size: 96, view: 'PA', sex: 'M', findings: [] }, createRng(3)).pixels;
    for (const kind of NON_CHEST_KINDS) {
      const img = renderNonChest(kind, 96, createRng(3)).pixels;
      let diff = 0;
      for (let i = 0; i < img.length; i++) diff += Math.abs(img[i]! - film[i]!);
      expect(diff / img.length, kind).toBeGreaterThan(10);
    }
  });

  it('writes a seeded set of 8-bit gray PNGs per kind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcx-nonchest-'));
    try {
      const files = await writeNonChestSet(dir, { perKind: 2, size: 64, seed: 9, kinds: ['hand', 'text'] });
      expect(Object.keys(files)).toEqual(['hand', 'text']);
      const png = decode(await readFile(files.hand[1]!));
      expect([png.width, png.height, png.channels, png.depth]).toEqual([64, 64, 1, 8]);
      expect(
        Buffer.from(png.data as Uint8Array).equals(
          Buffer.from(renderNonChest('hand', 64, createRng(deriveSeed(9, 'hand/1'))).pixels),
        ),
      ).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
