import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { DataError } from '@multichexnet/core';
import { maxAbsDiff, meanAbsDiff } from '@multichexnet/core/testing';
import { createDiskCache, createFsSource, createSharpDecoder, createWorkerLoader } from '../src/node/index';
import { openNih } from '../src/datasets/nih';
import { decodeImage, decodeImageAsync, type ImageDecoder } from '../src/codecs/decode-image';
import type { DecodedImage } from '../src/codecs/decoded-image';
import { fitImage, fitSample } from '../src/preprocess/fit-sample';
import { encode as encodePng } from 'fast-png';
import { filmDicom, filmPattern } from './helpers/transcode-dicom';
import { resolvePreprocessConfig } from '../src/preprocess/config';
import { createBatchStream } from '../src/batching/batch-stream';
import { itOnRealFile, realFile } from './realdata';
import { makeTmpRoot } from './helpers/tmp-root';
import { memoryNih } from './helpers/memory-datasets';

const root = makeTmpRoot('mcx-node-');
afterAll(() => root.remove());

describe('createFsSource', () => {
  it('lists recursively (following links), reads, and refuses paths leaving the root', async () => {
    root.write('a/b/c.txt', 'hello');
    root.write('top.csv', 'x');
    const png = realFile('00000001_000.png');
    if (png !== null) root.link(png, 'imgs/link.png');
    const src = createFsSource(root.dir);
    const listed = await src.list('');
    expect(listed).toEqual(['a/b/c.txt', ...(png !== null ? ['imgs/link.png'] : []), 'top.csv']);
    expect(await src.list('a')).toEqual(['a/b/c.txt']);
    expect(await src.list('nope')).toEqual([]);
    expect(new TextDecoder().decode(await src.read('a/b/c.txt'))).toBe('hello');
    expect(await src.exists('a/b/c.txt')).toBe(true);
    expect(await src.exists('a/b')).toBe(false);
    await expect(src.read('../etc/passwd')).rejects.toThrow(DataError);
    await expect(src.read('/etc/passwd')).rejects.toThrow(/leaves the dataset root/);
    await expect(src.read('missing.png')).rejects.toThrow(/ENOENT/);
  });
});

describe('createSharpDecoder', () => {
  const jpgPath = realFile('16747_3_1.jpg');
  const dcmPath = realFile('1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm');
  const mono1Path = realFile('Fake_MONOHR1.dcm');

  itOnRealFile('00000001_000.png', 'gives the same PNG pixels as the pure-JS path', async (pngPath) => {
    const dec = await createSharpDecoder();
    expect(dec).not.toBeNull();
    const bytes = new Uint8Array(readFileSync(pngPath));
    const got = await dec?.(bytes, 'a.png', { voi: true });
    const ref = decodeImage(bytes);
    expect(got?.image.width).toBe(ref.width);
    expect(Buffer.from(got?.image.data as Uint8Array).equals(Buffer.from(ref.data as Uint8Array))).toBe(true);
  });

  it.skipIf(jpgPath === null || dcmPath === null || mono1Path === null)(
    'decodes colour JPEG and DICOM JPEG within one level of the pure-JS path, MONOCHROME1 inverted',
    async () => {
      const dec = await createSharpDecoder();
      for (const p of [jpgPath, dcmPath, mono1Path] as string[]) {
        const bytes = new Uint8Array(readFileSync(p));
        const got = await dec?.(bytes, p, { voi: true });
        const ref = decodeImage(bytes, p);
        let max = 0;
        let sum = 0;
        for (let i = 0; i < ref.data.length; i++) {
          const d = Math.abs((got?.image.data[i] as number) - (ref.data[i] as number));
          max = Math.max(max, d);
          sum += d;
        }
        expect(max).toBeLessThanOrEqual(p === jpgPath ? 8 : 1);
        expect(sum / ref.data.length).toBeLessThan(0.2);
      }
      const d = await dec?.(new Uint8Array(readFileSync(dcmPath as string)), 'x.dcm', { voi: true });
      expect(d?.dicom?.viewPosition).toBe('PA');
    },
  );

  it('declines 16-bit colour PNGs and corrupt files (the pure-JS path handles them)', async () => {
    const dec = await createSharpDecoder();
    const png = new PNG({ width: 2, height: 1, colorType: 2, bitDepth: 16, inputColorType: 2, inputHasAlpha: false });
    (png as unknown as { data: Uint16Array }).data = new Uint16Array([1, 60000, 3, 4, 5, 6]);
    const bytes = new Uint8Array(
      PNG.sync.write(png, { colorType: 2, bitDepth: 16, inputColorType: 2, inputHasAlpha: false }),
    );
    expect(await dec?.(bytes, 'x.png', { voi: true })).toBeNull();
    expect(await dec?.(new Uint8Array([0xff, 0xd8, 0xff, 0, 1]), 'x.jpg', { voi: true })).toBeNull();
  });

  describe('16-bit films, and the native resize for the model', () => {
    const W = 900;
    const H = 720;
    const film16 = filmPattern(W, H, 0, 65535);
    const png16 = encodePng({ width: W, height: H, data: Uint16Array.from(film16), depth: 16, channels: 1 });
    const cfg = resolvePreprocessConfig({ size: 256 });

    it('decodes a 16-bit gray PNG to the pure-JS pixels', async () => {
      const dec = await createSharpDecoder();
      const got = await dec?.(png16, 'f.png', { voi: true });
      const ref = decodeImage(png16, 'f.png');
      expect(got?.image.data).toBeInstanceOf(Uint16Array);
      expect(got?.image.maxValue).toBe(65535);
      expect(
        Buffer.from((got?.image.data as Uint16Array).buffer).equals(Buffer.from((ref.data as Uint16Array).buffer)),
      ).toBe(true);
    });

    it('resizes natively for an area fit: the model input matches the pure-JS one within the stated tolerance', async () => {
      const dec = (await createSharpDecoder()) as ImageDecoder;
      const sharp = (await import('sharp')).default;
      const jpg = new Uint8Array(
        await sharp(Buffer.from(Uint8Array.from(filmPattern(W, H, 0, 255))), {
          raw: { width: W, height: H, channels: 1 },
        })
          .toColourspace('b-w')
          .jpeg({ quality: 95 })
          .toBuffer(),
      );
      const windowed = [
        { tag: [0x0028, 0x1050] as [number, number], vr: 'DS', value: '1800' },
        { tag: [0x0028, 0x1051] as [number, number], vr: 'DS', value: '3000' },
      ];
      const films: [string, Uint8Array][] = [
        ['16-bit.png', png16],
        ['gray.jpg', jpg],
        ['12-bit.dcm', filmDicom(W, H, 'u12', [0, 4095])],
        ['windowed-mono1.dcm', filmDicom(W, H, 'u12', [0, 4095], { photometric: 'MONOCHROME1', extra: windowed })],
      ];
      for (const [name, bytes] of films) {
        const got = await dec(bytes, name, { voi: true, fit: cfg });
        expect(got?.image.originalSize, name).toEqual({ width: W, height: H });
        expect([got?.image.width, got?.image.height]).toEqual([256, 205]);
        const native = fitImage(got?.image as DecodedImage, cfg);
        const js = fitImage((await decodeImageAsync(bytes, name)).image, cfg);
        expect(native.transform).toEqual(js.transform);
        // libvips' box shrink + cubic reduction against the exact area filter, in units of the full scale
        expect(meanAbsDiff(native.data, js.data), name).toBeLessThanOrEqual(0.003);
        expect(maxAbsDiff(native.data, js.data), name).toBeLessThanOrEqual(0.08);
      }
      // bilinear preprocessing, or no shrink: the full image, for fitImage to resize
      expect((await dec(png16, 'f.png', { voi: true, fit: { ...cfg, interpolation: 'bilinear' } }))?.image.width).toBe(
        W,
      );
      expect(
        (await dec(png16, 'f.png', { voi: true, fit: { ...cfg, size: 2048 } }))?.image.originalSize,
      ).toBeUndefined();
    });
  });
});

describe('createDiskCache', () => {
  it('round-trips fitted samples (8-bit, 16-bit, masks, boxes) and counts hits', async () => {
    const cache = createDiskCache({ dir: `${root.dir}/cache` });
    const cfg = resolvePreprocessConfig({ size: 8 });
    const a = fitSample(
      {
        image: { width: 8, height: 8, data: new Uint8Array(64).map((_, i) => i * 3), maxValue: 255 },
        mask: { width: 8, height: 8, data: new Uint8Array(64).fill(1) },
        boxes: [{ label: 'Mass', x: 1, y: 2, width: 3, height: 4 }],
      },
      cfg,
    );
    const b = fitSample(
      { image: { width: 8, height: 8, data: new Uint16Array(64).map((_, i) => i * 1000), maxValue: 65535 } },
      cfg,
    );
    expect(await cache.get('a')).toBeUndefined();
    await cache.set('a', a);
    await cache.set('b', b);
    expect(await cache.get('a')).toEqual(a);
    expect(await cache.get('b')).toEqual(b);
    expect([cache.hits, cache.misses]).toEqual([2, 1]);
    expect(cache.bytes).toBeGreaterThan(64 + 128);
  });

  it('serves a second stream from disk without decoding', async () => {
    const nih = await memoryNih(6, 3);
    const dir = `${root.dir}/cache2`;
    const first = createBatchStream({
      datasets: nih,
      batchSize: 3,
      shuffle: false,
      cache: createDiskCache({ dir }),
      preprocess: { size: 8 },
    });
    const e1 = [];
    for await (const batch of first) e1.push(batch);
    const cache = createDiskCache({ dir });
    let loads = 0;
    const second = createBatchStream({
      datasets: nih,
      batchSize: 3,
      shuffle: false,
      cache,
      preprocess: { size: 8 },
      loader: async () => {
        loads++;
        throw new Error('should not decode');
      },
    });
    const e2 = [];
    for await (const batch of second) e2.push(batch);
    expect(loads).toBe(0);
    expect(cache.hits).toBe(6);
    expect(e2.map((x) => Array.from(x.images))).toEqual(e1.map((x) => Array.from(x.images)));
  });
});

describe('createWorkerLoader', () => {
  const built = existsSync(fileURLToPath(new URL('../dist/node/load-worker.js', import.meta.url)));
  const png = realFile('00000001_000.png');

  it.skipIf(!built || png === null)(
    built
      ? 'loads on worker threads exactly as in-thread, and propagates DataErrors'
      : 'package not built (dist/node/load-worker.js absent): skipped',
    async () => {
      const r = makeTmpRoot('mcx-worker-');
      try {
        const rows = [
          'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]',
        ];
        for (let i = 0; i < 5; i++) {
          const id = `0000000${i + 1}_000.png`;
          rows.push(`${id},Mass,0,${i + 1},50,M,PA,1,1,0.1,0.1`);
          if (i === 3) r.write(`images/${id}`, 'not a png');
          else r.link(png as string, `images/${id}`);
        }
        r.write('Data_Entry_2017.csv', `${rows.join('\n')}\n`);
        const nih = await openNih({ root: r.dir, onBadSample: 'skip' });
        const loader = createWorkerLoader({ threads: 2 });
        try {
          const inWorkers = createBatchStream({
            datasets: nih,
            batchSize: 2,
            shuffle: false,
            loader,
            augment: true,
            seed: 2,
            preprocess: { size: 32 },
          });
          const inThread = createBatchStream({
            datasets: nih,
            batchSize: 2,
            shuffle: false,
            augment: true,
            seed: 2,
            preprocess: { size: 32 },
          });
          const a = [];
          for await (const b of inWorkers) a.push(b);
          const b = [];
          for await (const x of inThread) b.push(x);
          expect(a.map((x) => x.ids)).toEqual(b.map((x) => x.ids));
          expect(a.map((x) => Array.from(x.images))).toEqual(b.map((x) => Array.from(x.images)));
          expect(inWorkers.stats.skipped).toBe(1);
          const failing = await openNih({ root: r.dir });
          await expect(loader(failing, 3, { size: 32, fit: 'letterbox', interpolation: 'area' })).rejects.toThrow(
            DataError,
          );
        } finally {
          await loader.close();
        }
      } finally {
        r.remove();
      }
    },
  );
});
