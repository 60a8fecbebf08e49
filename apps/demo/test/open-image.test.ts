import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '@multichexnet/core';
import { SYNTH_PHI_MARKER } from '@multichexnet/synth';
import { describe, expect, it } from 'vitest';
import { openImage } from '../src/image/open-image';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const realdata = resolve(appRoot, '..', '..', '..', 'shared', 'realdata');
const examples = join(appRoot, 'public', 'examples');
const REAL_PNG = join(realdata, '00000001_000.png');
const REAL_DICOM = join(realdata, '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm');
const hasReal = existsSync(REAL_PNG) && existsSync(REAL_DICOM);
if (!hasReal) console.warn(`[open-image] real-image cases skipped: ${realdata} not found`);

describe('openImage', () => {
  it.skipIf(!hasReal)('opens the real NIH PNG with its name and size', async () => {
    const o = await openImage(readFileSync(REAL_PNG), basename(REAL_PNG));
    expect(o.format).toBe('PNG');
    expect(o.title).toBe(basename(REAL_PNG));
    expect(o.image.data.length).toBe(o.image.width * o.image.height);
    expect(o.facts.find((f) => f.label === 'Size')?.value).toBe(`${o.image.width} × ${o.image.height} px`);
  });

  it.skipIf(!hasReal)(
    'opens the real SIIM DICOM (JPEG Baseline) without its name, which is its SOPInstanceUID',
    async () => {
      const name = basename(REAL_DICOM);
      const o = await openImage(readFileSync(REAL_DICOM), name);
      expect(o.format).toBe('DICOM');
      expect(o.title).toBe('DICOM file');
      expect(o.facts.find((f) => f.label === 'Transfer syntax')?.value).toMatch(/JPEG Baseline/);
      expect(JSON.stringify(o.facts)).not.toContain(basename(name, '.dcm'));
    },
  );

  it.skipIf(!hasReal)("keeps a broken DICOM's name out of its error", async () => {
    const name = basename(REAL_DICOM);
    const bytes = readFileSync(REAL_DICOM);
    let error: unknown = null;
    try {
      await openImage(bytes.subarray(0, 400), name);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(basename(name, '.dcm'));
  });

  it('shows none of the identifying attributes the synthetic DICOM examples carry', async () => {
    for (const file of ['rsna-pneumonia.dcm', 'siim-pneumothorax.dcm']) {
      const bytes = readFileSync(join(examples, file));
      // The files do carry (synthetic) identifiers, so this check can fail.
      expect(Buffer.from(bytes).includes(SYNTH_PHI_MARKER)).toBe(true);
      const o = await openImage(bytes, file);
      expect(o.format).toBe('DICOM');
      expect(JSON.stringify({ title: o.title, facts: o.facts })).not.toContain(SYNTH_PHI_MARKER);
      expect(o.facts.map((f) => f.label)).toEqual(
        expect.arrayContaining(['Transfer syntax', 'Modality', 'Photometric']),
      );
    }
  });

  it('opens the JPEG example and refuses bytes of no known format', async () => {
    expect((await openImage(readFileSync(join(examples, 'covid.jpg')), 'covid.jpg')).format).toBe('JPEG');
    await expect(openImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'notes.txt')).rejects.toThrow(DataError);
  });
});
