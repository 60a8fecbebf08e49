// Loader throughput of @multichexnet/data at 256 px: images/s through createBatchStream (decode + resize +
// augment + batch) for PNG, JPEG and DICOM: pure-JS decoders in-thread, the sharp decoder of
// @multichexnet/data/node, and the worker-thread loader (2 threads, pure JS or sharp); a cold epoch, a cached
// epoch, and the share of time a CPU-bound consumer (0.5 s per batch of 16, like a wasm training step on the
// main thread) waits for data. Fixtures are 1024 px images linked or written into a temp root
// (the real SIIM DICOM; PNG/JPEG made from the real NIH PNG with sharp), never copied into the repo.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const name = 'data-loader';
export const description =
  'data loader images/s at 256 px: PNG, JPEG, DICOM (JPEG Baseline and native), pure JS vs sharp, cached epoch';
export const packages = ['core', 'data'];

const DCM = '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm';

function uid(i) {
  return `1.2.276.0.7230010.3.1.4.9.${i}`;
}

async function makeRoots(ctx, dir, n) {
  const real = join(ctx.repoRoot, '..', 'shared', 'realdata');
  if (!existsSync(join(real, DCM)) || !existsSync(join(real, '00000001_000.png'))) return null;
  const sharp = (await import(pathToFileURL(join(ctx.repoRoot, 'node_modules', 'sharp', 'dist', 'index.mjs')).href))
    .default;
  const png1024 = await sharp(join(real, '00000001_000.png')).resize(1024, 1024).greyscale().png().toBuffer();
  const jpg1024 = await sharp(join(real, '00000001_000.png'))
    .resize(1024, 1024)
    .greyscale()
    .jpeg({ quality: 90 })
    .toBuffer();
  const roots = {};
  // PNG: NIH layout
  const nih = join(dir, 'nih');
  mkdirSync(join(nih, 'images'), { recursive: true });
  const rows = [
    'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]',
  ];
  for (let i = 0; i < n; i++) {
    const id = `${String(i + 1).padStart(8, '0')}_000.png`;
    rows.push(`${id},No Finding,0,${i + 1},50,M,PA,2000,2000,0.14,0.14`);
    writeFileSync(join(nih, 'images', id), png1024);
  }
  writeFileSync(join(nih, 'Data_Entry_2017.csv'), `${rows.join('\n')}\n`);
  roots.png = { open: 'openNih', root: nih };
  // JPEG: COVID layout
  const covid = join(dir, 'covid');
  mkdirSync(join(covid, 'images'), { recursive: true });
  const meta = ['patientid,finding,view,modality,folder,filename'];
  for (let i = 0; i < n; i++) {
    meta.push(`${i},Pneumonia/Viral/COVID-19,PA,X-ray,images,${i}.jpg`);
    writeFileSync(join(covid, 'images', `${i}.jpg`), jpg1024);
  }
  writeFileSync(join(covid, 'metadata.csv'), `${meta.join('\n')}\n`);
  roots.jpeg = { open: 'openCovid', root: covid };
  // DICOM JPEG Baseline: SIIM layout, links to the real file
  const siim = join(dir, 'siim');
  const rle = ['ImageId, EncodedPixels'];
  for (let i = 0; i < n; i++) {
    mkdirSync(join(siim, 'dicom-images-train', `s${i}`, `r${i}`), { recursive: true });
    symlinkSync(join(real, DCM), join(siim, 'dicom-images-train', `s${i}`, `r${i}`, `${uid(i)}.dcm`));
    rle.push(`${uid(i)},-1`);
  }
  writeFileSync(join(siim, 'train-rle.csv'), `${rle.join('\n')}\n`);
  roots.dicomJpeg = { open: 'openSiim', root: siim };
  // native DICOM (explicit VR LE, 8-bit), made by dcmtk when present
  const native = join(dir, 'native.dcm');
  if (spawnSync('dcmdjpeg', [join(real, DCM), native]).status === 0) {
    const nat = join(dir, 'siim-native');
    for (let i = 0; i < n; i++) {
      mkdirSync(join(nat, 'dicom-images-train', `s${i}`), { recursive: true });
      symlinkSync(native, join(nat, 'dicom-images-train', `s${i}`, `${uid(i)}.dcm`));
    }
    writeFileSync(join(nat, 'train-rle.csv'), `${rle.join('\n')}\n`);
    roots.dicomNative = { open: 'openSiim', root: nat };
  }
  void readFileSync;
  return roots;
}

async function epochRate(stream, epoch) {
  const t0 = performance.now();
  let n = 0;
  for await (const b of stream.epoch(epoch)) n += b.size;
  return (n * 1000) / (performance.now() - t0);
}

/** A CPU-bound consumer (like a wasm training step on this thread): the share of its time spent waiting for data. */
async function waitShare(stream, epoch, stepMs) {
  const t0 = performance.now();
  const w0 = stream.stats.waitMs;
  for await (const b of stream.epoch(epoch)) {
    void b;
    const end = performance.now() + stepMs;
    while (performance.now() < end);
  }
  return (stream.stats.waitMs - w0) / (performance.now() - t0);
}

export async function run(ctx) {
  const data = await ctx.importPackage('data');
  const node = await import(pathToFileURL(join(ctx.repoRoot, 'packages', 'data', 'dist', 'node', 'index.js')).href);
  const n = ctx.quick ? 32 : 96;
  const dir = mkdtempSync(join(tmpdir(), 'mcx-bench-data-'));
  try {
    const roots = await makeRoots(ctx, dir, n);
    if (roots === null) return { skipped: 'shared/realdata is absent' };
    const sharpDecoder = await node.createSharpDecoder();
    const result = { size: 256, batchSize: 16, images: n, formats: {} };
    for (const [format, { open, root }] of Object.entries(roots)) {
      const entry = {};
      const variants = [
        ['pureJs', undefined, undefined],
        ['sharp', sharpDecoder ?? undefined, undefined],
        ['workers2PureJs', undefined, () => node.createWorkerLoader({ threads: 2 })],
        ['workers2Sharp', undefined, () => node.createWorkerLoader({ threads: 2, sharp: true })],
      ];
      for (const [label, decoder, makeLoader] of variants) {
        if (label === 'sharp' && decoder === undefined) {
          entry.sharp = { skipped: 'sharp not loadable' };
          continue;
        }
        const loader = makeLoader?.();
        const ds = await data[open]({ root, decoder });
        const common = {
          datasets: ds,
          batchSize: 16,
          augment: true,
          seed: 1,
          prefetch: 2,
          preprocess: { size: 256 },
          ...(loader ? { loader } : {}),
        };
        const stream = data.createBatchStream(common);
        const cold = await epochRate(stream, 0);
        // best of two cached epochs: the CPU is shared, the faster run is the closer to the loader's own cost
        const warm = Math.max(await epochRate(stream, 1), await epochRate(stream, 2));
        // a fresh (uncached) stream under a consumer that spends 0.5 s of CPU per batch of 16 (~32 img/s training)
        const fed = data.createBatchStream({ ...common, cache: false });
        const share = await waitShare(fed, 0, 500);
        await loader?.close();
        entry[label] = {
          coldImagesPerSecond: cold,
          cachedImagesPerSecond: warm,
          waitShareAt32ImagesPerSecondConsumer: share,
        };
        ctx.log(
          `${format} ${label}: ${cold.toFixed(1)} img/s cold, ${warm.toFixed(1)} img/s cached, consumer waits ${(share * 100).toFixed(0)}%`,
        );
      }
      result.formats[format] = entry;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
