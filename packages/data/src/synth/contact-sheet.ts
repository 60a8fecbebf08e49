import { createRng } from '@multichexnet/core';
import { PNG } from 'pngjs';
import { writeFileSync } from 'node:fs';
import { renderFilm } from './render';
import type { FindingKind } from './findings/painters';

const size = Number(process.argv[2] ?? 256);
const seed = Number(process.argv[3] ?? 1);
const boxes = process.argv.includes('--boxes');
const kinds: Array<FindingKind | 'Normal'> = process.env.KINDS ? (process.env.KINDS.split(',') as Array<FindingKind | 'Normal'>) : ['Normal', 'Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule', 'Pneumonia', 'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis', 'Pleural_Thickening', 'Hernia', 'Covid19', 'ViralPneumonia', 'BacterialPneumonia', 'FungalPneumonia', 'Tuberculosis'];
const cols = Math.min(5, kinds.length);
const rows = Math.ceil(kinds.length / cols);
const W = size * cols;
const buf = Buffer.alloc(W * size * rows);
const t0 = performance.now();
kinds.forEach((kind, k) => {
  const f = renderFilm({ size, view: (process.env.VIEW ?? 'PA') as 'PA', sex: k % 2 ? 'F' : 'M', findings: kind === 'Normal' ? [] : [{ kind, severity: 0.8 }] }, createRng(seed * 1000 + k));
  const ox = (k % cols) * size;
  const oy = Math.floor(k / cols) * size;
  const px = f.pixels;
  if (boxes) for (const d of f.findings) {
    const { x, y, width, height } = d.box;
    for (let i = 0; i < width; i++) for (const yy of [y, y + height - 1]) px[yy * size + x + i] = i % 4 < 2 ? 255 : 0;
    for (let j = 0; j < height; j++) for (const xx of [x, x + width - 1]) px[(y + j) * size + xx] = j % 4 < 2 ? 255 : 0;
  }
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) buf[(oy + y) * W + ox + x] = px[y * size + x] as number;
});
console.log('ms/img', (performance.now() - t0) / kinds.length);
const png = new PNG({ width: W, height: size * rows, colorType: 0, inputColorType: 0, inputHasAlpha: false });
png.data = buf;
writeFileSync(process.env.SHEET ?? '/tmp/synth/sheet.png', PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
