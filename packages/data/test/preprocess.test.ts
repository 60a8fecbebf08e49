import { describe, expect, it } from 'vitest';
import { ConfigError, DataError, createRng, tf } from '@multichexnet/core';
import { maxAbsDiff } from '@multichexnet/core/testing';
import { resample } from '../src/preprocess/resample';
import { fitBoxes, fitImage, fitMask, fitSample, fitTransform, unfitBoxes } from '../src/preprocess/fit-sample';
import { AugmentConfigSchema, PreprocessConfigSchema, resolvePreprocessConfig } from '../src/preprocess/config';
import { drawAugment, finishSample, NO_AUGMENT } from '../src/preprocess/augment';
import { preprocessImage } from '../src/preprocess/preprocess-image';
import type { DecodedImage } from '../src/codecs/decoded-image';

function ramp(w: number, h: number): Float32Array {
  return Float32Array.from({ length: w * h }, (_, i) => ((i * 37) % 101) / 100);
}

/** A black 8-bit image [h, w] with a white block, and the block's 0/1 mask. */
function whiteBlock(
  w: number,
  h: number,
  block: { x: number; y: number; width: number; height: number },
): { image: Uint8Array; mask: Uint8Array } {
  const image = new Uint8Array(w * h);
  const mask = new Uint8Array(w * h);
  for (let y = block.y; y < block.y + block.height; y++)
    for (let x = block.x; x < block.x + block.width; x++) {
      image[y * w + x] = 255;
      mask[y * w + x] = 1;
    }
  return { image, mask };
}

describe('resample', () => {
  it('bilinear matches tf.image.resizeBilinear with half-pixel centres', () => {
    const src = ramp(13, 7);
    const ours = resample(src, 13, 7, 5, 11, 'bilinear');
    const ref = tf.tidy(() =>
      tf.image.resizeBilinear(tf.tensor4d(src, [1, 7, 13, 1]), [11, 5], false, true).dataSync(),
    );
    expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-5);
  });

  it('area with an integer factor equals average pooling', () => {
    const src = ramp(16, 12);
    const ours = resample(src, 16, 12, 4, 3, 'area');
    const ref = tf.tidy(() => tf.avgPool(tf.tensor4d(src, [1, 12, 16, 1]), 4, 4, 'valid').dataSync());
    expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-5);
  });

  it('area with a fractional factor preserves the mean and constants', () => {
    const src = ramp(10, 10);
    const out = resample(src, 10, 10, 3, 3, 'area');
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;
    expect(mean(out)).toBeCloseTo(mean(src), 5);
    expect(
      Array.from(resample(new Float32Array(100).fill(7), 10, 10, 3, 4, 'area')).every((v) => Math.abs(v - 7) < 1e-5),
    ).toBe(true);
  });
});

describe('fit (resize + letterbox)', () => {
  const cfg = resolvePreprocessConfig({ size: 256 });

  it('letterboxes a 1036x885 image: full width, centred vertically', () => {
    const t = fitTransform(1036, 885, cfg);
    const h = Math.round(885 * (256 / 1036));
    expect(t.scaleX).toBeCloseTo(256 / 1036, 10);
    expect(t.offsetX).toBe(0);
    expect(t.offsetY).toBe(Math.floor((256 - h) / 2));
    const st = fitTransform(1036, 885, { size: 256, fit: 'stretch' });
    expect([st.scaleX, st.scaleY, st.offsetY]).toEqual([256 / 1036, 256 / 885, 0]);
  });

  it('pads with black and maps boxes and masks consistently', () => {
    // a 40x20 image, white block at x 10..19, y 5..14
    const w = 40;
    const h = 20;
    const { image: data, mask } = whiteBlock(w, h, { x: 10, y: 5, width: 10, height: 10 });
    const img: DecodedImage = { width: w, height: h, data, maxValue: 255 };
    const c = resolvePreprocessConfig({ size: 8 });
    const f = fitSample(
      {
        image: img,
        mask: { width: w, height: h, data: mask },
        boxes: [{ label: 'Mass', x: 10, y: 5, width: 10, height: 10 }],
      },
      c,
    );
    // 40x20 -> 8x4, placed at rows 2..5
    expect(f.transform).toMatchObject({ scaleX: 0.2, scaleY: 0.2, offsetX: 0, offsetY: 2 });
    expect(f.boxes).toEqual([{ label: 'Mass', x: 2, y: 3, width: 2, height: 2 }]);
    const on = (a: ArrayLike<number>) => Array.from(a).flatMap((v, i) => (v > 0 ? [i] : []));
    expect(on(f.mask as Uint8Array)).toEqual([3 * 8 + 2, 3 * 8 + 3, 4 * 8 + 2, 4 * 8 + 3]);
    expect(on(f.image)).toEqual(on(f.mask as Uint8Array));
    expect(Array.from(f.image.subarray(0, 16)).every((v) => v === 0)).toBe(true);
    expect(unfitBoxes(f.boxes ?? [], f.transform)).toEqual([{ label: 'Mass', x: 10, y: 5, width: 10, height: 10 }]);
  });

  it('keeps 16-bit sources in Uint16 and normalises by maxValue', () => {
    const data = new Uint16Array(64).map((_, i) => (i % 2 === 0 ? 0 : 65535));
    const img: DecodedImage = { width: 8, height: 8, data, maxValue: 65535 };
    const { input } = preprocessImage(img, { size: 8, mean: 0.5, std: 0.5 });
    expect(Array.from(input)).toEqual(Array.from(data, (v) => (v === 0 ? -1 : 1)));
    expect(fitSample({ image: img }, resolvePreprocessConfig({ size: 8 })).image).toBeInstanceOf(Uint16Array);
  });

  it('rejects NaN pixels with a DataError', () => {
    const data = new Float32Array(64).fill(0.5);
    data[9] = Number.NaN;
    const img: DecodedImage = { width: 8, height: 8, data, maxValue: 1 };
    expect(() => fitImage(img, resolvePreprocessConfig({ size: 8 }))).toThrow(DataError);
  });

  it('fitMask handles an empty mask', () => {
    const t = fitTransform(16, 16, { size: 4, fit: 'letterbox' });
    expect(
      Array.from(fitMask({ width: 16, height: 16, data: new Uint8Array(256) }, t, { size: 4 })).every((v) => v === 0),
    ).toBe(true);
    expect(fitBoxes([], t)).toEqual([]);
  });
});

describe('augmentation', () => {
  const cfg = resolvePreprocessConfig({ size: 64, augment: { rotationDeg: 15, scale: [0.85, 1.15], translate: 0.1 } });

  /** A 64x64 fitted sample with a bright 16x24 rectangle, its mask and its box. */
  function squareSample() {
    const S = 64;
    const { image, mask } = whiteBlock(S, S, { x: 12, y: 20, width: 16, height: 24 });
    return {
      size: S,
      image,
      imageScale: 255 as const,
      mask,
      boxes: [{ label: 'Pneumonia' as const, x: 12, y: 20, width: 16, height: 24 }],
      transform: fitTransform(S, S, cfg),
    };
  }

  it('same seed, same draw; no left-right flip by default', () => {
    const a = drawAugment(cfg.augment, createRng(3), 64);
    const b = drawAugment(cfg.augment, createRng(3), 64);
    expect(a).toEqual(b);
    expect(drawAugment(cfg.augment, createRng(4), 64)).not.toEqual(a);
    const rng = createRng(9);
    for (let i = 0; i < 200; i++) expect(drawAugment(cfg.augment, rng, 64).flip).toBe(false);
  });

  it('moves image, mask and box together', () => {
    const f = squareSample();
    for (const seed of [1, 2, 3, 4, 5]) {
      const p = drawAugment(cfg.augment, createRng(seed), 64);
      const m = finishSample(f, { mean: 0, std: 1 }, { ...p, contrast: 1, brightness: 0, gamma: 1 });
      let inter = 0;
      let union = 0;
      let minX = 64;
      let minY = 64;
      let maxX = -1;
      let maxY = -1;
      for (let i = 0; i < 64 * 64; i++) {
        const bright = (m.image[i] as number) > 0.5 ? 1 : 0;
        const inMask = m.mask?.[i] ?? 0;
        inter += bright & inMask;
        union += bright | inMask;
        if (inMask) {
          const x = i % 64;
          const y = Math.floor(i / 64);
          minX = Math.min(minX, x);
          maxX = Math.max(maxX, x);
          minY = Math.min(minY, y);
          maxY = Math.max(maxY, y);
        }
      }
      expect(inter / union).toBeGreaterThan(0.85);
      const box = m.boxes?.[0];
      expect(box).toBeDefined();
      // the box hull contains the mask (within a pixel) and is not much larger than its bounding box
      expect(box?.x ?? 99).toBeLessThanOrEqual(minX + 1);
      expect(box?.y ?? 99).toBeLessThanOrEqual(minY + 1);
      expect((box?.x ?? 0) + (box?.width ?? 0)).toBeGreaterThanOrEqual(maxX);
      expect((box?.y ?? 0) + (box?.height ?? 0)).toBeGreaterThanOrEqual(maxY);
      expect((box?.width ?? 0) * (box?.height ?? 0)).toBeLessThan(2 * (maxX - minX + 1) * (maxY - minY + 1));
    }
  });

  it('drops boxes pushed out of view and flips consistently when asked', () => {
    const f = squareSample();
    const gone = finishSample(f, cfg, { ...NO_AUGMENT, tx: 100 });
    expect(gone.boxes).toEqual([]);
    expect(Array.from(gone.mask ?? []).every((v) => v === 0)).toBe(true);
    const flipped = finishSample(f, { mean: 0, std: 1 }, { ...NO_AUGMENT, flip: true });
    expect(flipped.boxes?.[0]).toMatchObject({ x: 64 - 28, width: 16, y: 20, height: 24 });
    expect(flipped.mask?.[30 * 64 + (63 - 12)]).toBe(1);
    expect(flipped.image[30 * 64 + (63 - 12)]).toBeCloseTo(1, 5);
  });

  it('NO_AUGMENT is plain normalisation and leaves the cached sample untouched', () => {
    const f = squareSample();
    const before = f.image.slice();
    const m = finishSample(f, { mean: 0.5, std: 0.25 });
    expect(m.image[0]).toBe(-2);
    expect(m.image[20 * 64 + 12]).toBe(2);
    m.mask?.fill(0);
    expect(Array.from(f.image)).toEqual(Array.from(before));
    expect(f.mask?.[20 * 64 + 12]).toBe(1);
  });

  it('gamma/contrast keep intensities in range', () => {
    const f = squareSample();
    const m = finishSample(f, { mean: 0, std: 1 }, { ...NO_AUGMENT, gamma: 0.5, contrast: 3, brightness: 0.3 });
    expect(Math.min(...m.image)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...m.image)).toBeLessThanOrEqual(1);
  });
});

describe('PreprocessConfigSchema', () => {
  it('fills defaults and round-trips through JSON', () => {
    const cfg = resolvePreprocessConfig({});
    expect(cfg).toMatchObject({ size: 256, fit: 'letterbox', interpolation: 'area', mean: 0.5, std: 0.25 });
    expect(cfg.augment.flipHorizontal).toBe(0);
    expect(resolvePreprocessConfig(JSON.parse(JSON.stringify(cfg)))).toEqual(cfg);
    expect(PreprocessConfigSchema.parse(cfg)).toEqual(cfg);
  });

  it('names the bad field', () => {
    expect(() => resolvePreprocessConfig({ size: 0 })).toThrow(ConfigError);
    expect(() => resolvePreprocessConfig({ size: 0 })).toThrow(/size: must be >= 8/);
    expect(() => resolvePreprocessConfig({ std: -1 })).toThrow(/std/);
    expect(() => resolvePreprocessConfig({ augment: { rotationDeg: 90 } })).toThrow(/augment\.rotationDeg/);
    expect(AugmentConfigSchema.safeParse({ flip: true }).success).toBe(false);
  });
});
