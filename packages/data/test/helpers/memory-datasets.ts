import { PNG } from 'pngjs';
import { createRng } from '@multichexnet/core';
import { createMemorySource } from '../../src/io/memory-source';
import { openNih } from '../../src/datasets/nih';
import { openRsna } from '../../src/datasets/rsna';
import { openSiim } from '../../src/datasets/siim';
import type { Dataset } from '../../src/datasets/dataset';
import { pixelModule, writeTestDicom } from './dicom-writer';

const NIH_HEADER =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]';

/** Seeded gray pixels (pngjs is the independent encoder). */
export function grayPng(width: number, height: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(Array.from({ length: width * height }, () => rng.int(0, 256)));
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false }));
}

export function grayDicom(width: number, height: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return writeTestDicom(
    pixelModule({
      rows: height,
      columns: width,
      bitsAllocated: 8,
      pixels: Uint8Array.from({ length: width * height }, () => rng.int(0, 256)),
    }),
  );
}

/** An NIH-layout dataset in memory: `images` images over `patients` patients; `corrupt` image indices hold garbage. */
export async function memoryNih(
  images: number,
  patients: number,
  opts: { corrupt?: number[]; size?: number; split?: boolean; onBadSample?: 'skip' | 'fail' } = {},
): Promise<Dataset> {
  const size = opts.size ?? 32;
  const labels = ['Mass', 'No Finding', 'Effusion|Pneumonia', 'Cardiomegaly'];
  const files: Record<string, Uint8Array> = {};
  const lines = [NIH_HEADER];
  const test: string[] = [];
  const trainVal: string[] = [];
  for (let i = 0; i < images; i++) {
    const pid = (i % patients) + 1;
    const name = `${String(pid).padStart(8, '0')}_${String(Math.floor(i / patients)).padStart(3, '0')}.png`;
    lines.push(`${name},${labels[i % labels.length]},0,${pid},40,F,PA,2000,2000,0.14,0.14`);
    files[`images/${name}`] =
      opts.corrupt?.includes(i) === true
        ? new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5])
        : grayPng(size, size, i);
    (pid % 5 === 0 ? test : trainVal).push(name);
  }
  files['Data_Entry_2017.csv'] = new TextEncoder().encode(`${lines.join('\n')}\n`);
  if (opts.split === true) {
    files['train_val_list.txt'] = new TextEncoder().encode(trainVal.join('\n'));
    files['test_list.txt'] = new TextEncoder().encode(test.join('\r\n'));
  }
  return openNih({ root: createMemorySource(files, 'nih-mem'), onBadSample: opts.onBadSample ?? 'fail' });
}

function uuid(i: number): string {
  const h = i.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${h}`;
}

/** An RSNA-layout dataset in memory (native 8-bit DICOMs); every other patient positive with one box. */
export async function memoryRsna(n: number, size = 32): Promise<Dataset> {
  const files: Record<string, Uint8Array> = {};
  const lines = ['patientId,x,y,width,height,Target'];
  for (let i = 0; i < n; i++) {
    const id = uuid(i);
    lines.push(i % 2 === 0 ? `${id},256.0,256.0,256.0,512.0,1` : `${id},,,,,0`);
    files[`stage_2_train_images/${id}.dcm`] = grayDicom(size, size, 1000 + i);
  }
  files['stage_2_train_labels.csv'] = new TextEncoder().encode(`${lines.join('\n')}\n`);
  return openRsna({ root: createMemorySource(files, 'rsna-mem') });
}

/** A SIIM-layout dataset in memory; every other image has a pneumothorax square (RLE in 1024 px space). */
export async function memorySiim(n: number, size = 32): Promise<Dataset> {
  const files: Record<string, Uint8Array> = {};
  const lines = ['ImageId, EncodedPixels'];
  // a 256x256 square at column 512, row 256 of the 1024 image: one run per column
  const runs: number[] = [];
  let last = 0;
  for (let col = 512; col < 768; col++) {
    const start = col * 1024 + 256;
    runs.push(start - last, 256);
    last = start + 256;
  }
  for (let i = 0; i < n; i++) {
    const id = `1.2.276.0.7230010.3.1.4.${i}`;
    lines.push(`${id}, ${i % 2 === 0 ? runs.join(' ') : '-1'}`);
    files[`dicom-images-train/1.2.${i}/1.3.${i}/${id}.dcm`] = grayDicom(size, size, 2000 + i);
  }
  files['train-rle.csv'] = new TextEncoder().encode(`${lines.join('\n')}\n`);
  return openSiim({ root: createMemorySource(files, 'siim-mem') });
}
