// Reads the real RSNA `stage_2_train_labels.csv` (inside its zip, as the project's shared/realdata keeps it) and
// returns every positive box's size as fractions of the 1024 x 1024 image. Shared by the anchor script and the
// test that checks the committed anchors against the data.
import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';

/** RSNA DICOMs are 1024 x 1024 (DATASETS.md 2.1). */
export const RSNA_IMAGE_SIZE = 1024;

export function readRsnaBoxSizes(zipPath: string): { width: number; height: number }[] {
  const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
  const name = Object.keys(files).find((f) => f.endsWith('.csv'));
  if (name === undefined) throw new Error(`${zipPath}: no CSV inside`);
  const lines = strFromU8(files[name]!).split(/\r?\n/);
  const header = lines[0]!.split(',');
  const col = (n: string): number => {
    const i = header.indexOf(n);
    if (i < 0) throw new Error(`${zipPath}: no column ${n} in header ${lines[0]}`);
    return i;
  };
  const [iw, ih, it] = [col('width'), col('height'), col('Target')];
  const sizes: { width: number; height: number }[] = [];
  for (let r = 1; r < lines.length; r++) {
    if (lines[r] === '') continue;
    const cells = lines[r]!.split(',');
    if (cells[it] !== '1') continue;
    sizes.push({ width: Number(cells[iw]) / RSNA_IMAGE_SIZE, height: Number(cells[ih]) / RSNA_IMAGE_SIZE });
  }
  return sizes;
}
