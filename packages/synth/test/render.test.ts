import { createRng, type BinaryMask, type Box } from '@multichexnet/core';
import { describe, expect, it } from 'vitest';
import { rleDecode, rleEncode } from '@multichexnet/data';
import { maskToAnnotation } from '../src/annotation-space';
import { SynthConfigSchema } from '../src/config';
import { FINDING_KINDS, type FindingKind } from '../src/findings/painters';
import { renderFilm, type RenderRequest } from '../src/render';

const SIZE = 160;

function film(findings: RenderRequest['findings'], seed: number, view: RenderRequest['view'] = 'PA') {
  return renderFilm({ size: SIZE, view, sex: seed % 2 ? 'F' : 'M', findings }, createRng(seed));
}

/** Bounding box of a mask, computed here independently of the generator. */
function bbox(m: BinaryMask): Box | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (m.data[y * m.width + x]) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Mean of `diff` over the mask. */
function meanIn(diff: Int16Array, m: BinaryMask): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < diff.length; i++)
    if (m.data[i]) {
      s += diff[i] as number;
      n++;
    }
  return s / n;
}

function difference(a: Uint8Array, b: Uint8Array): Int16Array {
  const d = new Int16Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = (a[i] as number) - (b[i] as number);
  return d;
}

/** Findings that only add density where they are: the film is unchanged far from their boxes. */
const LOCAL: readonly FindingKind[] = [
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Consolidation',
  'Pleural_Thickening',
  'Hernia',
  'Covid19',
  'ViralPneumonia',
  'BacterialPneumonia',
];

describe('renderFilm', () => {
  it('draws an 8-bit film of the requested size that looks like a chest: dark lungs, bright mediastinum, black air outside', () => {
    const f = film([], 1);
    expect(f.width).toBe(SIZE);
    expect(f.pixels.length).toBe(SIZE * SIZE);
    const at = (u: number, v: number): number => f.pixels[Math.round(v * SIZE) * SIZE + Math.round(u * SIZE)] as number;
    const lungs = (at(0.3, 0.4) + at(0.7, 0.4)) / 2;
    expect(at(0.5, 0.45)).toBeGreaterThan(lungs + 60); // mediastinum / spine
    expect(at(0.5, 0.9)).toBeGreaterThan(lungs + 40); // abdomen below the diaphragm
    expect(Math.max(at(0.3, 0.01), at(0.7, 0.01))).toBeLessThan(lungs); // air beside the neck, above the shoulders
  });

  it('is deterministic: the same seed gives identical pixels and findings, another seed different ones', () => {
    const a = film([{ kind: 'Pneumonia', count: 2 }], 7);
    const b = film([{ kind: 'Pneumonia', count: 2 }], 7);
    const c = film([{ kind: 'Pneumonia', count: 2 }], 8);
    expect(Buffer.from(a.pixels).equals(Buffer.from(b.pixels))).toBe(true);
    expect(a.findings.map((f) => f.box)).toEqual(b.findings.map((f) => f.box));
    expect(Buffer.from(a.pixels).equals(Buffer.from(c.pixels))).toBe(false);
  });

  it.each(FINDING_KINDS.map((k) => [k]))(
    "%s: masks are non-empty, inside the image, and each box is its mask's bounding box",
    (kind) => {
      for (const seed of [3, 4]) {
        const f = film([{ kind, severity: 0.8 }], seed);
        expect(f.findings.length).toBeGreaterThan(0);
        for (const d of f.findings) {
          expect(d.kind).toBe(kind);
          expect(d.mask.width).toBe(SIZE);
          const b = bbox(d.mask);
          expect(b).toEqual(d.box);
          expect(d.box.x).toBeGreaterThanOrEqual(0);
          expect(d.box.y).toBeGreaterThanOrEqual(0);
          expect(d.box.x + d.box.width).toBeLessThanOrEqual(SIZE);
          expect(d.box.y + d.box.height).toBeLessThanOrEqual(SIZE);
        }
      }
    },
  );

  it.each(FINDING_KINDS.filter((k) => !['Pneumothorax', 'Emphysema', 'Hernia'].includes(k)).map((k) => [k]))(
    '%s: the film is brighter over the mask than the same film without the finding',
    (kind) => {
      for (const seed of [5, 6, 9]) {
        const f = film([{ kind, severity: 0.7 }], seed);
        const normal = film([], seed);
        const diff = difference(f.pixels, normal.pixels);
        for (const d of f.findings)
          expect(meanIn(diff, d.mask)).toBeGreaterThan(kind === 'Fibrosis' || kind === 'Infiltration' ? 3 : 8);
      }
    },
  );

  it('Hernia: a soft-tissue mass with gas over its mask (brighter rim, darker gas)', () => {
    for (const seed of [5, 6, 9]) {
      const f = film([{ kind: 'Hernia', severity: 0.7 }], seed);
      const diff = difference(f.pixels, film([], seed).pixels);
      const d = f.findings[0] as { mask: BinaryMask };
      let brighter = 0;
      let darker = 0;
      for (let i = 0; i < diff.length; i++)
        if (d.mask.data[i]) {
          if ((diff[i] as number) > 4) brighter++;
          if ((diff[i] as number) < -8) darker++;
        }
      expect(brighter).toBeGreaterThan(10);
      expect(darker).toBeGreaterThan(10);
    }
  });

  it.each(LOCAL.map((k) => [k]))('%s: nothing changes far from the boxes', (kind) => {
    const seed = 12;
    const f = film([{ kind, severity: 0.9 }], seed);
    const diff = difference(f.pixels, film([], seed).pixels);
    const margin = Math.round(SIZE * 0.1);
    let far = 0;
    let changed = 0;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const near = f.findings.some(
          (d) =>
            x >= d.box.x - margin &&
            x < d.box.x + d.box.width + margin &&
            y >= d.box.y - margin &&
            y < d.box.y + d.box.height + margin,
        );
        if (near) continue;
        far++;
        if (diff[y * SIZE + x] !== 0) changed++;
      }
    }
    expect(far).toBeGreaterThan(0);
    expect(changed / far).toBeLessThan(0.01);
  });

  it('Pneumothorax: the region is darker than the same lung without it, and its RLE decodes back to the drawn mask', () => {
    for (const seed of [21, 22, 23]) {
      const f = film([{ kind: 'Pneumothorax', count: 2, severity: 0.6 }], seed);
      const diff = difference(f.pixels, film([], seed).pixels);
      expect(f.findings.length).toBe(2);
      for (const d of f.findings) {
        expect(meanIn(diff, d.mask)).toBeLessThan(-2);
        const back = rleDecode(rleEncode(d.mask), SIZE, SIZE);
        expect(Buffer.from(back.data).equals(Buffer.from(d.mask.data))).toBe(true);
      }
    }
  });

  it('masks written in the original 1024 space decode and shrink back to the drawn mask', () => {
    const cfg = SynthConfigSchema.parse({ out: 'x', size: 256, annotationSpace: 'original' });
    const f = renderFilm({ size: 256, view: 'PA', sex: 'M', findings: [{ kind: 'Pneumothorax' }] }, createRng(30));
    const mask = (f.findings[0] as { mask: BinaryMask }).mask;
    const big = rleDecode(rleEncode(maskToAnnotation(cfg, mask)), 1024, 1024);
    const small = new Uint8Array(256 * 256);
    for (let y = 0; y < 256; y++)
      for (let x = 0; x < 256; x++) small[y * 256 + x] = big.data[(y * 4 + 1) * 1024 + x * 4 + 1] as number;
    expect(Buffer.from(small).equals(Buffer.from(mask.data))).toBe(true);
  });

  it('Emphysema darkens the lungs; Cardiomegaly widens the heart (cardiothoracic ratio above 0.55)', () => {
    const seed = 40;
    const emph = film([{ kind: 'Emphysema', severity: 0.8 }], seed);
    const lungMask = (emph.findings[0] as { mask: BinaryMask }).mask;
    expect(meanIn(difference(emph.pixels, film([], seed).pixels), lungMask)).toBeLessThan(-3);
    const cardio = film([{ kind: 'Cardiomegaly', severity: 0.8 }], seed);
    const heart = (cardio.findings[0] as { box: Box }).box;
    expect(heart.width / (SIZE * 0.78)).toBeGreaterThan(0.55);
  });

  it('draws a lateral film with the COVID pattern as a finding', () => {
    const f = film([{ kind: 'Covid19', severity: 0.8 }], 50, 'L');
    expect(f.pixels.length).toBe(SIZE * SIZE);
    expect(f.findings.length).toBe(1);
    expect(
      meanIn(difference(f.pixels, film([], 50, 'L').pixels), (f.findings[0] as { mask: BinaryMask }).mask),
    ).toBeGreaterThan(5);
  });

  it('several findings on one film each get their own instances', () => {
    const f = film([{ kind: 'Nodule', count: 2 }, { kind: 'Effusion' }, { kind: 'Cardiomegaly' }], 60);
    expect(f.findings.map((d) => d.kind).sort()).toEqual(['Cardiomegaly', 'Effusion', 'Nodule', 'Nodule']);
  });
});
