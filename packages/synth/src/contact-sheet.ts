/*
 * Development tool: renders one film per finding kind into a labelled contact sheet PNG, to LOOK at the
 * generator's output (docs/synthetic-contact-sheet.png in the README is made with it). Node only; labels are
 * drawn with sharp's SVG text.
 *
 *   npx tsx src/contact-sheet.ts [--size 160] [--seed 1] [--view PA] [--boxes] [--out sheet.png] [--kinds A,B] [--levels 32]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRng } from '@multichexnet/core';
import sharp from 'sharp';
import { FINDING_KINDS, type FindingKind } from './findings/painters';
import { renderFilm, type RenderRequest } from './render';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '160' },
    seed: { type: 'string', default: '1' },
    view: { type: 'string', default: 'PA' },
    boxes: { type: 'boolean', default: false },
    out: { type: 'string', default: 'synthetic-contact-sheet.png' },
    kinds: { type: 'string' },
    cols: { type: 'string', default: '5' },
    levels: { type: 'string', default: '256' },
  },
});
const size = Number(values.size);
const seed = Number(values.seed);
const kinds: Array<FindingKind | 'Normal'> =
  values.kinds !== undefined ? (values.kinds.split(',') as FindingKind[]) : ['Normal', ...FINDING_KINDS];
const cols = Math.min(Number(values.cols), kinds.length);
const rows = Math.ceil(kinds.length / cols);
const label = Math.round(size * 0.1);
const W = size * cols;
const H = (size + label) * rows;
const sheet = Buffer.alloc(W * H);
const svg: string[] = [];
const t0 = performance.now();
kinds.forEach((kind, k) => {
  const req: RenderRequest = {
    size,
    view: values.view as RenderRequest['view'],
    sex: k % 2 ? 'F' : 'M',
    findings: kind === 'Normal' ? [] : [{ kind, severity: 0.8 }],
  };
  const film = renderFilm(req, createRng(seed * 1000 + k));
  const px = film.pixels;
  if (values.boxes) {
    // Dashed box outlines, white and black so they show on any background.
    for (const d of film.findings) {
      const { x, y, width, height } = d.box;
      for (let i = 0; i < width; i++) for (const yy of [y, y + height - 1]) px[yy * size + x + i] = i % 4 < 2 ? 255 : 0;
      for (let j = 0; j < height; j++)
        for (const xx of [x, x + width - 1]) px[(y + j) * size + xx] = j % 4 < 2 ? 255 : 0;
    }
  }
  // Fewer gray levels make a smaller PNG for the docs (the films themselves are always 8-bit).
  const step = 256 / Number(values.levels);
  if (step > 1)
    for (let i = 0; i < px.length; i++)
      px[i] = Math.min(255, Math.round(Math.floor((px[i] as number) / step) * step + step / 2));
  const ox = (k % cols) * size;
  const oy = Math.floor(k / cols) * (size + label);
  for (let y = 0; y < size; y++) sheet.set(px.subarray(y * size, (y + 1) * size), (oy + label + y) * W + ox);
  svg.push(
    `<text x="${ox + 3}" y="${oy + label * 0.8}" font-family="DejaVu Sans, sans-serif" font-size="${label * 0.75}" fill="white">${kind.replace('_', ' ')}</text>`,
  );
});
const ms = (performance.now() - t0) / kinds.length;
const overlay = Buffer.from(`<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${svg.join('')}</svg>`);
const png = await sharp(sheet, { raw: { width: W, height: H, channels: 1 } })
  .composite([{ input: overlay }])
  .toColourspace('b-w')
  .png({ compressionLevel: 9 })
  .toBuffer();
writeFileSync(values.out as string, png);
console.log(
  `${kinds.length} films, ${ms.toFixed(1)} ms each at ${size} px -> ${values.out} (${(png.length / 1024).toFixed(0)} KB)`,
);
