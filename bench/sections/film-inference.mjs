// `multichexnet predict` on full-size films: films/s for 2,500 x 2,000 16-bit PNG, 8-bit JPEG and 12-bit DICOM (native
// explicit VR little endian with a VOI window, as CR / DX exports are), with the default model (the trainer's default
// preset, `multichexnet-joint` at size `full`, exported as one model.onnx; seeded weights: speed does not depend on
// their values). Two decode paths of the same command, measured in the same run, interleaved:
//   js      --js-decode: the pure-JavaScript decoders (fast-png, jpeg-js, dicom-parser) as the browser runs them,
//           full-size image, then the JavaScript area resize (the path `predict` took before sharp read these films)
//   native  the default: sharp (libvips) decodes off the JavaScript thread and resizes to the model's input itself
// films/s is the marginal rate, (large - small films) / (t_large - t_small), so the model load does not count; the
// per-stage profile (decode, preprocess, model, outputs) is measured on the same films in-process. Wall time on a
// shared machine depends on everyone's load, so the marginal CPU time per film of the whole process (every thread:
// JavaScript, libvips, onnxruntime) is reported too: 2000 / cpuMsPerFilm is the films/s two fully used cores give.
// Films: the real NIH PNG of ../shared/realdata upscaled (lanczos) to 2,500 x 2,000 with deterministic noise.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const name = 'film-inference';
export const description =
  'predict films/s on 2500x2000 16-bit PNG, JPEG and 12-bit DICOM: pure-JS decode vs sharp decode + native resize';
export const packages = [
  'core',
  'core-encoder',
  'head-cls',
  'head-det',
  'head-seg',
  'gating',
  'model',
  'trainer',
  'data',
  'runtime',
  'export',
  'service',
  'cli',
];

const W = 2500;
const H = 2000;

/** A native explicit-VR little-endian DICOM of 16-bit samples (12 stored), MONOCHROME2, with one VOI window. */
function nativeDicom(samples) {
  const enc = new TextEncoder();
  const parts = [];
  const el = (group, element, vr, value) => {
    const long = vr === 'OB' || vr === 'OW';
    const v = value.length % 2 === 0 ? value : Uint8Array.from([...value, vr === 'UI' ? 0 : 0x20]);
    const head = new Uint8Array(long ? 12 : 8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, group, true);
    dv.setUint16(2, element, true);
    head.set(enc.encode(vr), 4);
    if (long) dv.setUint32(8, v.length, true);
    else dv.setUint16(6, v.length, true);
    parts.push(head, v);
  };
  const us = (n) => Uint8Array.of(n & 0xff, n >> 8);
  const str = (s) => enc.encode(s);
  const meta = [];
  const before = parts.length;
  el(0x0002, 0x0001, 'OB', Uint8Array.of(0, 1));
  el(0x0002, 0x0002, 'UI', str('1.2.840.10008.5.1.4.1.1.1.1'));
  el(0x0002, 0x0003, 'UI', str('1.2.826.0.1.3680043.2.1125.9.1'));
  el(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1'));
  meta.push(...parts.splice(before));
  const metaLength = meta.reduce((a, p) => a + p.length, 0);
  el(
    0x0002,
    0x0000,
    'UL',
    Uint8Array.of(metaLength & 0xff, (metaLength >> 8) & 0xff, (metaLength >> 16) & 0xff, metaLength >>> 24),
  );
  parts.push(...meta);
  el(0x0008, 0x0060, 'CS', str('DX'));
  el(0x0028, 0x0002, 'US', us(1));
  el(0x0028, 0x0004, 'CS', str('MONOCHROME2'));
  el(0x0028, 0x0010, 'US', us(H));
  el(0x0028, 0x0011, 'US', us(W));
  el(0x0028, 0x0100, 'US', us(16));
  el(0x0028, 0x0101, 'US', us(12));
  el(0x0028, 0x0102, 'US', us(11));
  el(0x0028, 0x0103, 'US', us(0));
  el(0x0028, 0x1050, 'DS', str('2048'));
  el(0x0028, 0x1051, 'DS', str('3500'));
  el(0x7fe0, 0x0010, 'OW', new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  const body = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    body.set(p, o);
    o += p.length;
  }
  const file = new Uint8Array(132 + body.length);
  file.set(enc.encode('DICM'), 128);
  file.set(body, 132);
  return file;
}

/** `distinct` films per format in `dir/<format>/`, from the real NIH PNG; null without it. */
async function makeFilms(ctx, dir, distinct) {
  const real = join(ctx.repoRoot, '..', 'shared', 'realdata', '00000001_000.png');
  if (!existsSync(real)) return null;
  const sharp = (await import(pathToFileURL(join(ctx.repoRoot, 'node_modules', 'sharp', 'dist', 'index.mjs')).href))
    .default;
  const { encode } = await import(
    pathToFileURL(join(ctx.repoRoot, 'node_modules', 'fast-png', 'lib', 'index.js')).href
  );
  const up = await sharp(real)
    .resize(W, H, { kernel: 'lanczos3', fit: 'fill' })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer();
  const base = new Uint16Array(up.buffer, up.byteOffset, W * H);
  let seed = 7;
  const noise = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 256;
  const files = { png: [], jpeg: [], dicom: [] };
  for (const f of Object.keys(files)) mkdirSync(join(dir, 'src', f), { recursive: true });
  for (let k = 0; k < distinct; k++) {
    const px = new Uint16Array(W * H);
    for (let i = 0; i < px.length; i++) px[i] = Math.min(65535, Math.max(0, Math.round(base[i] + noise())));
    const png = join(dir, 'src', 'png', `film-${k}.png`);
    writeFileSync(png, encode({ width: W, height: H, data: px, depth: 16, channels: 1 }));
    const eight = Uint8Array.from(px, (v) => v >> 8);
    const jpg = join(dir, 'src', 'jpeg', `film-${k}.jpg`);
    writeFileSync(
      jpg,
      await sharp(eight, { raw: { width: W, height: H, channels: 1 } })
        .toColourspace('b-w')
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    const dcm = join(dir, 'src', 'dicom', `film-${k}.dcm`);
    writeFileSync(dcm, nativeDicom(Uint16Array.from(px, (v) => v >> 4)));
    files.png.push(png);
    files.jpeg.push(jpg);
    files.dicom.push(dcm);
  }
  return files;
}

/** A folder of `n` films cycling through `sources` (copies: predict walks a folder). */
function folderOf(dir, label, sources, n) {
  const out = join(dir, label);
  mkdirSync(out, { recursive: true });
  for (let i = 0; i < n; i++) {
    const src = sources[i % sources.length];
    copyFileSync(src, join(out, `f${String(i).padStart(3, '0')}${src.slice(src.lastIndexOf('.'))}`));
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function run(ctx) {
  const loadAtStart = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'mcx-film-bench-'));
  try {
    const core = await ctx.importPackage('core');
    const { builtinPlan } = await ctx.importPackage('trainer');
    const { buildModel, ModelConfigSchema } = await ctx.importPackage('model');
    const rt = await ctx.importPackage('runtime');
    const ex = await ctx.importPackage('export');
    const data = await ctx.importPackage('data');
    const dataNode = await import(
      pathToFileURL(join(ctx.repoRoot, 'packages', 'data', 'dist', 'node', 'index.js')).href
    );
    const cli = await ctx.importPackage('cli');
    const films = await makeFilms(ctx, dir, 4);
    if (films === null) return { skipped: 'no real NIH PNG in ../shared/realdata' };

    await core.initBackend('cpu');
    const preset = builtinPlan('multichexnet-joint', { size: 'full', seed: 1 });
    const built = buildModel(ModelConfigSchema.parse({ ...preset.model, gate: undefined }), 1);
    const model = join(dir, 'model.onnx');
    writeFileSync(model, await ex.exportModel(built, { preprocessing: { size: preset.imageSize } }));

    const small = ctx.quick ? 4 : 8;
    const large = ctx.quick ? 12 : 24;
    const rounds = ctx.quick ? 1 : 3;
    const silent = { write: () => true };
    const predict = async (folder, js) => {
      const out = [];
      const io = { stdout: { write: (s) => out.push(s) }, stderr: silent, cwd: dir, env: {} };
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const code = await cli.runCli(
        ['predict', '--model', model, folder, '--json', '--quiet', ...(js ? ['--js-decode'] : [])],
        io,
      );
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (code !== 0) throw new Error(`predict exited ${code}`);
      return { ms, cpuMs: (c.user + c.system) / 1000, json: JSON.parse(out.join('')) };
    };

    const formats = {};
    for (const format of ['png', 'jpeg', 'dicom']) {
      const folders = {
        small: folderOf(dir, `${format}-${small}`, films[format], small),
        large: folderOf(dir, `${format}-${large}`, films[format], large),
      };
      const times = { js: { small: [], large: [] }, native: { small: [], large: [] } };
      const cpu = { js: { small: [], large: [] }, native: { small: [], large: [] } };
      let outputs = {};
      await predict(folders.small, false); // warm-up: first sharp and onnxruntime use
      for (let r = 0; r < rounds; r++) {
        for (const mode of ['js', 'native']) {
          for (const size of ['small', 'large']) {
            const { ms, cpuMs, json } = await predict(folders[size], mode === 'js');
            times[mode][size].push(ms);
            cpu[mode][size].push(cpuMs);
            if (size === 'small') outputs[mode] = json.images.map((i) => i.probabilities);
          }
        }
      }
      // the two paths feed the model nearly the same input: their class probabilities, film by film
      let maxProbabilityDelta = 0;
      outputs.js.forEach((p, i) =>
        Object.keys(p).forEach(
          (c) => (maxProbabilityDelta = Math.max(maxProbabilityDelta, Math.abs(p[c] - outputs.native[i][c]))),
        ),
      );
      const rate = (m) => ((large - small) * 1000) / (median(times[m].large) - median(times[m].small));
      const cpuPerFilm = (m) => (median(cpu[m].large) - median(cpu[m].small)) / (large - small);
      formats[format] = {
        films: { small, large, width: W, height: H },
        js: {
          filmsPerSecond: rate('js'),
          cpuMsPerFilm: cpuPerFilm('js'),
          filmsPerSecondOnTwoFullCores: 2000 / cpuPerFilm('js'),
          largeRunMs: median(times.js.large),
          smallRunMs: median(times.js.small),
        },
        native: {
          filmsPerSecond: rate('native'),
          cpuMsPerFilm: cpuPerFilm('native'),
          filmsPerSecondOnTwoFullCores: 2000 / cpuPerFilm('native'),
          largeRunMs: median(times.native.large),
          smallRunMs: median(times.native.small),
        },
        speedup: rate('native') / rate('js'),
        cpuSpeedup: cpuPerFilm('js') / cpuPerFilm('native'),
        maxProbabilityDelta,
        target: 12,
        meetsTarget: rate('native') >= 12,
      };
      ctx.log(
        `${format}: js ${rate('js').toFixed(1)} films/s (${cpuPerFilm('js').toFixed(0)} CPU-ms/film), native ${rate('native').toFixed(1)} films/s (${cpuPerFilm('native').toFixed(0)} CPU-ms/film), x${formats[format].speedup.toFixed(2)}, max |dp| ${maxProbabilityDelta.toFixed(4)}`,
      );
    }

    // where a film's time goes, in-process, on one film of each format (median of the distinct films)
    const pipe = await rt.createPipeline({ model: { model }, gate: { enabled: false } });
    const sharpDecoder = await dataNode.createSharpDecoder();
    const fit = {
      size: pipe.metadata.preprocessing.size,
      fit: pipe.metadata.preprocessing.fit,
      interpolation: pipe.metadata.preprocessing.interpolation,
    };
    const profile = {};
    for (const format of ['png', 'jpeg', 'dicom']) {
      for (const mode of ['js', 'native']) {
        const rows = [];
        for (const f of films[format]) {
          const bytes = new Uint8Array(readFileSync(f));
          let t = performance.now();
          const { image } = await data.decodeImageAsync(
            bytes,
            f,
            mode === 'native' ? { decoder: sharpDecoder, fit } : {},
          );
          const decodeMs = performance.now() - t;
          t = performance.now();
          const [r] = await pipe.runBatch([image]);
          rows.push({
            decodeMs,
            preprocessMs: r.timings.preprocessMs,
            modelMs: r.timings.stage1Ms,
            outputsMs: r.timings.decodeMs,
          });
        }
        profile[`${format}.${mode}`] = Object.fromEntries(
          Object.keys(rows[0]).map((k) => [k, median(rows.map((x) => x[k]))]),
        );
      }
    }
    await pipe.dispose();
    return {
      loadAverage1m: { atStart: loadAtStart, atEnd: loadavg()[0] },
      cores: (await import('node:os')).cpus().length,
      model: {
        preset: 'multichexnet-joint (full)',
        encoder: built.encoder.config.preset,
        inputSize: preset.imageSize,
        heads: ['cls', 'det', 'seg'],
        gate: 'none (every film through det and seg)',
      },
      command: 'multichexnet predict --model model.onnx <folder> --json [--js-decode]',
      formats,
      profileMsPerFilm: profile,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
