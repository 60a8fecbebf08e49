import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { ConfigError, DataError, setLogSink } from '@multichexnet/core';
import { decodeImage } from '../src/codecs/decode-image';
import { assertRadiograph } from '../src/codecs/assert-radiograph';
import { decodeDicom } from '../src/codecs/dicom';
import { createSharpDecoder } from '../src/node/sharp-decoder';
import { createMemorySource } from '../src/io/memory-source';
import { badRowSink } from '../src/datasets/bad-rows';
import { openNih, parseNihBoxes, parseNihIndex } from '../src/datasets/nih';
import { openRsna, parseRsnaLabels } from '../src/datasets/rsna';
import { openSiim, parseSiimRle } from '../src/datasets/siim';
import { openCovid, parseCovidMetadata } from '../src/datasets/covid';
import { createBatchStream } from '../src/batching/batch-stream';
import type { Dataset } from '../src/datasets/dataset';
import {
  badImageFiles,
  badLabelTables,
  photoRgb,
  type BadImage,
  type BadTable,
} from './fixtures-reliability/bad-inputs';
import { dicomFilm, FAKE_PHI_MARKER, film, pngGray8 } from './fixtures-reliability/bases';
import { NIH_HEADER_2017, RSNA_HEADER, SIIM_HEADER } from './fixtures-reliability/label-texts';
import { pixelModule, writeTestDicom } from './helpers/dicom-writer';
import { missingMessage, readGzText, realFile } from './realdata';

/*
 * The corpus of bad inputs (fixtures-reliability/bad-inputs.ts): damaged and non-X-ray images, label tables with
 * missing columns, wrong headers, bad numbers, NaN labels, boxes and runs outside the image, and paths leaving the
 * dataset root. Each must fail with a DataError that says where (file, row, field), what was expected and what
 * was found, in one short line without any patient data; and the loaders' onBadSample policy must skip and count
 * (or throw) them.
 */

let images: BadImage[] = [];
const tables: BadTable[] = badLabelTables();
const warnings: string[] = [];

beforeAll(async () => {
  images = await badImageFiles();
  setLogSink((_level, m) => warnings.push(m));
});
afterAll(() => setLogSink(null));

/** What every consumer does with a file before the model sees it. */
function readRadiograph(bytes: Uint8Array, file: string): void {
  assertRadiograph(decodeImage(bytes, file), file);
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return (e as DataError).message;
  }
  throw new Error('expected a DataError, nothing was thrown');
}

function expectReadable(message: string, patterns: RegExp[]): void {
  for (const p of patterns) expect(message).toMatch(p);
  expect(message).not.toContain('\n');
  expect(message.length).toBeLessThan(1000);
  expect(message).not.toContain(FAKE_PHI_MARKER);
}

describe('bad image files: one DataError each, naming the file, what was expected and what was found', () => {
  it('the corpus is complete', () => {
    expect(images.length).toBeGreaterThanOrEqual(25);
    console.log(`bad image files: ${images.length}`);
  });

  it('each one, read as the loaders, the CLI and the service read it', async () => {
    for (const b of images) {
      const message = messageOf(() => readRadiograph(b.bytes, b.file));
      expect(b.expect.length, b.name).toBeGreaterThan(0);
      expectReadable(message, b.expect);
    }
  });

  it('each one through the sharp (libvips) fast path too: the same kind of DataError, never a library error', async () => {
    const sharpDecoder = await createSharpDecoder();
    expect(sharpDecoder).not.toBeNull();
    for (const b of images) {
      let message: string;
      try {
        const got = await sharpDecoder!(b.bytes, b.file, { voi: true });
        message = messageOf(() =>
          got === null ? readRadiograph(b.bytes, b.file) : assertRadiograph(got.image, b.file),
        );
      } catch (e) {
        expect(e, b.name).toBeInstanceOf(DataError);
        message = (e as DataError).message;
      }
      expectReadable(message, [new RegExp(`file ${b.file.replace('.', '\\.')}`)]);
    }
  });

  it('valid neighbours of the corpus still load: a single-valued PixelSpacing, gray stored as RGB, the real COVID JPEGs', () => {
    const px = film(32, 9);
    const spacing = writeTestDicom([
      ...pixelModule({ rows: 32, columns: 32, bitsAllocated: 8, pixels: px }),
      { tag: [0x0028, 0x0030], vr: 'DS', value: '0.5' },
    ]);
    expect(decodeDicom(spacing, 'one-spacing.dcm').width).toBe(32);
    // gray pixels stored as RGB, plus a small red arrow (2% of the picture): a radiograph, not a photo
    const rgb = photoRgb(64, 64);
    for (let i = 0; i < 64 * 64; i++)
      rgb.set([px[i % px.length] as number, px[i % px.length] as number, px[i % px.length] as number], i * 3);
    for (let i = 0; i < 80; i++) rgb.set([255, 0, 0], i * 3);
    const img = decodeImage(rgbPng(rgb, 64, 64), 'annotated.png');
    expect(img.colourFraction).toBeCloseTo(80 / 4096, 5);
    expect(() => assertRadiograph(img, 'annotated.png')).not.toThrow();
    for (const name of ['16747_3_1.jpg', 'covid-19-pneumonia-58-prior.jpg']) {
      const path = realFile(name);
      if (path === null) continue;
      const real = decodeImage(new Uint8Array(readFileSync(path)), name);
      expect(real.colourFraction).toBeLessThan(0.001);
      expect(() => assertRadiograph(real, name)).not.toThrow();
    }
  });
});

/** An RGB PNG written by pngjs (an encoder independent of the fast-png decoder under test). */
function rgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb);
  return new Uint8Array(PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

describe('bad label tables: the row, the field, what was expected and what was found', () => {
  const parse = (t: BadTable, onBad: (e: DataError) => void): unknown => {
    if (t.kind === 'nih') return parseNihIndex(t.text, 'labels.csv', onBad);
    if (t.kind === 'nih-boxes') return parseNihBoxes(t.text, 'labels.csv', onBad, t.bounds);
    if (t.kind === 'rsna') return parseRsnaLabels(t.text, 'labels.csv', onBad, t.bounds);
    if (t.kind === 'siim') return parseSiimRle(t.text, 'labels.csv', onBad, t.bounds);
    return parseCovidMetadata(t.text, 'labels.csv', onBad, {
      views: ['PA', 'AP'],
      modalities: ['X-ray'],
      excludeFindings: [],
    });
  };

  it('the corpus is complete', () => {
    expect(tables.length).toBeGreaterThanOrEqual(25);
    console.log(`bad label tables: ${tables.length}`);
  });

  for (const t of tables) {
    it(`${t.name}: ${t.rowLevel ? 'a bad row, thrown under "fail", counted under "skip"' : 'a bad file, thrown under both policies'}`, () => {
      const message = messageOf(() => parse(t, badRowSink('fail')));
      expectReadable(message, [/file labels\.csv/, ...t.expect]);
      const skip = badRowSink('skip');
      if (t.rowLevel) {
        parse(t, skip);
        expect(skip.count).toBeGreaterThanOrEqual(1);
      } else {
        expect(() => parse(t, skip)).toThrow(DataError);
      }
    });
  }

  const rsnaZip = realFile('kaggle_stage_2_train_labels.csv.zip');
  const bbox = realFile('BBox_List_2017.csv.gz');
  const rle = realFile('siim-pneumothorax-train-rle.csv.gz');
  it.skipIf(rsnaZip === null || bbox === null || rle === null)(
    rsnaZip === null || bbox === null || rle === null
      ? missingMessage('label files')
      : 'the real RSNA, NIH BBox and SIIM label files have no box or run outside their 1024 x 1024 images',
    () => {
      const bounds = { width: 1024, height: 1024 };
      const files = unzipSync(new Uint8Array(readFileSync(rsnaZip!)));
      const strict = badRowSink('fail');
      expect(parseRsnaLabels(new TextDecoder().decode(Object.values(files)[0]), 'rsna', strict, bounds).length).toBe(
        26684,
      );
      expect(parseNihBoxes(readGzText(bbox!), 'bbox', strict, bounds).size).toBe(880);
      expect(parseSiimRle(readGzText(rle!), 'siim', strict, bounds).length).toBe(12047);
    },
  );
});

describe('paths that leave the dataset root', () => {
  const cases: [string, () => Promise<unknown> | unknown, RegExp[]][] = [
    [
      'labelsFile "../outside.csv"',
      () => openNih({ root: createMemorySource({}), labelsFile: '../outside.csv' }),
      [/Path leaves the dataset root/, /field path/, /found "\.\.\/outside\.csv"/],
    ],
    [
      'labelsFile "/etc/passwd"',
      () => openRsna({ root: createMemorySource({}), labelsFile: '/etc/passwd' }),
      [/Path leaves the dataset root/, /found "\/etc\/passwd"/],
    ],
    [
      'imagesDir "../../"',
      () =>
        openRsna({
          root: createMemorySource({ 'stage_2_train_labels.csv': new TextEncoder().encode(`${RSNA_HEADER}\n`) }),
          imagesDir: '../..',
        }),
      [/Path leaves the dataset root/, /field path/],
    ],
    [
      'a Windows drive path',
      () => openSiim({ root: createMemorySource({}), labelsFile: 'C:\\Windows\\win.ini' }),
      [/Path leaves the dataset root/],
    ],
    [
      'a picked file named "../../x.png"',
      () => createMemorySource({ '../../x.png': new Uint8Array(1) }),
      [/Path leaves the dataset root/, /found "\.\.\/\.\.\/x\.png"/],
    ],
    ['a NUL byte', () => createMemorySource({ 'images/a\0.png': new Uint8Array(1) }), [/Path is empty or invalid/]],
  ];
  for (const [what, run, patterns] of cases) {
    it(what, async () => {
      let err: unknown = null;
      try {
        await run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataError);
      expectReadable((err as DataError).message, patterns);
    });
  }

  it('a COVID metadata row escaping the root throws even under onBadSample "skip"', async () => {
    const t = tables.find((x) => x.name === 'COVID row whose path leaves the root')!;
    const root = createMemorySource({ 'metadata.csv': new TextEncoder().encode(t.text) });
    await expect(openCovid({ root, onBadSample: 'skip' })).rejects.toThrow(
      /Path leaves the dataset root \(file \(memory\)\/metadata\.csv, row 2, field path\)/,
    );
  });
});

describe('onBadSample: bad images are skipped and counted, or thrown with the file named', () => {
  const goodNames = ['00000001_000.png', '00000002_000.png', '00000003_000.png'];

  /** An NIH folder: three good films and every bad PNG / JPEG of the corpus under an image name of its own. */
  function nihFiles(): { files: Record<string, Uint8Array>; bad: string[] } {
    const files: Record<string, Uint8Array> = {};
    const rows: string[] = [];
    const bad: string[] = [];
    const add = (name: string, bytes: Uint8Array, pid: number): void => {
      files[`images/${name}`] = bytes;
      rows.push(`${name},Mass,0,${pid},40,F,PA,1,1,0.1,0.1,`);
    };
    goodNames.forEach((n, k) => add(n, pngGray8(32, 40 + k), k + 1));
    images
      .filter((b) => !b.file.endsWith('.dcm'))
      .forEach((b, k) => {
        const name = `${String(100 + k).padStart(8, '0')}_000.png`;
        bad.push(name);
        add(name, b.bytes, 100 + k);
      });
    files['Data_Entry_2017.csv'] = new TextEncoder().encode(`${[NIH_HEADER_2017, ...rows].join('\n')}\n`);
    return { files, bad };
  }

  async function collect(ds: Dataset): Promise<string[]> {
    const ids: string[] = [];
    for await (const s of ds) ids.push(s.id);
    return ids;
  }

  it('NIH (PNG and JPEG): "skip" yields the good films and counts each bad one once, over two epochs of batches', async () => {
    const { files, bad } = nihFiles();
    const nih = await openNih({ root: createMemorySource(files, 'nih'), onBadSample: 'skip', annotationSize: 1024 });
    warnings.length = 0;
    expect(await collect(nih)).toEqual(goodNames);
    expect(nih.skipped).toBe(bad.length);
    const stream = createBatchStream({ datasets: nih, batchSize: 2, preprocess: { size: 16 }, seed: 1, cache: false });
    for (let e = 0; e < 2; e++)
      for await (const b of stream) expect(b.ids.every((id) => goodNames.includes(id))).toBe(true);
    expect(nih.skipped).toBe(bad.length);
    expect(stream.stats.skipped).toBe(2 * bad.length);
    // one warning per bad file, each naming it
    expect(warnings).toHaveLength(bad.length);
    for (const name of bad) expect(warnings.some((w) => w.includes(name))).toBe(true);
  });

  it('NIH: "fail" throws the first bad image with its path', async () => {
    const { files, bad } = nihFiles();
    const nih = await openNih({ root: createMemorySource(files, 'nih'), onBadSample: 'fail' });
    await expect(collect(nih)).rejects.toThrow(new RegExp(`file nih/images/${bad[0]}`));
    await expect(nih.get(nih.entries.findIndex((e) => e.id === bad[0]))).rejects.toBeInstanceOf(DataError);
  });

  it('RSNA (DICOM): "skip" counts the bad DICOMs and the bad label rows; "fail" throws the first', async () => {
    const dicoms = images.filter((b) => b.file.endsWith('.dcm'));
    const files: Record<string, Uint8Array> = {};
    const rows: string[] = [];
    const id = (k: number): string => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;
    files[`stage_2_train_images/${id(0)}.dcm`] = await dicomFilm(32, 7, 'jpeg-baseline');
    rows.push(`${id(0)},,,,,0`);
    dicoms.forEach((b, k) => {
      files[`stage_2_train_images/${id(k + 1)}.dcm`] = b.bytes;
      rows.push(`${id(k + 1)},,,,,0`);
    });
    rows.push(`${id(900)},10.0,10.0,2000.0,10.0,1`, `${id(901)},,,,,NaN`);
    files['stage_2_train_labels.csv'] = new TextEncoder().encode(`${[RSNA_HEADER, ...rows].join('\n')}\n`);
    const skip = await openRsna({ root: createMemorySource(files, 'rsna'), onBadSample: 'skip', annotationSize: 1024 });
    expect(skip.skipped).toBe(2); // the box outside the image and the NaN Target, at open time
    expect(await collect(skip)).toEqual([id(0)]);
    expect(skip.skipped).toBe(2 + dicoms.length);
    await expect(openRsna({ root: createMemorySource(files, 'rsna'), annotationSize: 1024 })).rejects.toThrow(
      /row \d+, field x,y,width,height\): expected a box inside the 1024x1024 image/,
    );
    delete files['stage_2_train_labels.csv'];
    files['stage_2_train_labels.csv'] = new TextEncoder().encode(`${[RSNA_HEADER, ...rows.slice(0, -2)].join('\n')}\n`);
    const fail = await openRsna({ root: createMemorySource(files, 'rsna') });
    await expect(collect(fail)).rejects.toThrow(new RegExp(`file rsna/stage_2_train_images/${id(1)}\\.dcm`));
  });

  it("SIIM: an RLE overflowing its image is a bad row at open time under both policies' rules", async () => {
    const uid = (k: number): string => `1.2.276.0.7230010.3.1.4.8323329.${k}.1517875241.599591`;
    const files: Record<string, Uint8Array> = {
      [`a/${uid(1)}.dcm`]: await dicomFilm(32, 8, 'explicit-vr-little-endian'),
      [`a/${uid(2)}.dcm`]: await dicomFilm(32, 9, 'explicit-vr-little-endian'),
      'train-rle.csv': new TextEncoder().encode(`${SIIM_HEADER}\n${uid(1)}, -1\n${uid(2)}, 1048000 600\n`),
    };
    const skip = await openSiim({ root: createMemorySource(files, 'siim'), onBadSample: 'skip', annotationSize: 1024 });
    expect([skip.size, skip.skipped]).toEqual([1, 1]);
    await expect(openSiim({ root: createMemorySource(files, 'siim'), annotationSize: 1024 })).rejects.toThrow(
      /Bad SIIM RLE row \(file siim\/train-rle\.csv, row 3, field EncodedPixels\): expected runs within 1024x1024 = 1048576 pixels, found a run ending at 1048600/,
    );
  });
});

describe('loader options with wrong types are ConfigErrors naming the field', () => {
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['root a number', () => openNih({ root: 5 as never }), /root/],
    [
      'onBadSample "ignore"',
      () => openRsna({ root: '/x', onBadSample: 'ignore' as never }),
      /onBadSample: must be one of "skip", "fail"; received "ignore"/,
    ],
    ['annotationSize -1', () => openSiim({ root: '/x', annotationSize: -1 }), /annotationSize/],
    ['voi "yes"', () => openCovid({ root: '/x', voi: 'yes' as never }), /voi: must be of type boolean; received "yes"/],
    ['views []', () => openCovid({ root: '/x', views: [] }), /views: must be >= 1 items; received \[\]/],
    ['an unknown option', () => openNih({ root: '/x', colour: true } as never), /unknown key\(s\) "colour"/],
  ];
  for (const [what, run, pattern] of cases) {
    it(what, async () => {
      const err = await run().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toMatch(pattern);
    });
  }
});
