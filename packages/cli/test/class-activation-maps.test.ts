import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, deriveSeed, initBackend, tf } from '@multichexnet/core';
import { createEncoder } from '@multichexnet/core-encoder';
import { preprocessImage, resolvePreprocessConfig } from '@multichexnet/data';
import { createClsHead } from '@multichexnet/head-cls';
import type { ClassActivationMap, PipelineResult } from '@multichexnet/runtime';
import { exportModel, writeOnnxFile } from '@multichexnet/export';
import { createMultiCheXNet } from '@multichexnet/model';
import { renderFilm } from '@multichexnet/synth';
import { writeReport } from '../src/report/load-run';
import type { Gallery } from '../src/report/report-data';
import { galleryCamLayer } from '../src/run/gallery-cam';
import type { PointingGameReport } from '../src/run/pointing-game';
import type { PredictOutput } from '../src/actions/predict';
import { cli, flags } from './helpers';

const SIZE = 64;
/**
 * The pointing-game floor of the small model trained below: the tolerant game (peak within half a map cell of the
 * mass), where a random peak scores about 0.05 on these films.
 */
const FLOOR = 0.5;
let dir: string;
let modelFile: string;
let plainModelFile: string;

/**
 * CheXCls ['Mass'] on densenet-tiny at 64 px (pooled at c3: an 8 x 8 map), trained on films with and without a mass.
 */
async function trainMassModel(): Promise<{
  encoder: ReturnType<typeof createEncoder>;
  cls: ReturnType<typeof createClsHead>;
}> {
  const pre = resolvePreprocessConfig({ size: SIZE });
  const n = 128;
  const x = new Float32Array(n * SIZE * SIZE);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const rng = createRng(deriveSeed(11, `train/${i}`));
    const mass = i % 2 === 0;
    const film = renderFilm(
      {
        size: SIZE,
        view: 'PA',
        sex: i % 4 < 2 ? 'F' : 'M',
        findings: mass ? [{ kind: 'Mass', severity: rng.uniform(0.7, 1) }] : [],
      },
      rng,
    );
    x.set(preprocessImage({ width: SIZE, height: SIZE, data: film.pixels, maxValue: 255 }, pre).input, i * SIZE * SIZE);
    y[i] = mass ? 1 : 0;
  }
  const encoder = createEncoder({ preset: 'densenet-tiny', seed: 3 });
  const cls = createClsHead({ classes: ['Mass'], featureChannels: encoder.featureChannels, level: 'c3', seed: 4 });
  const images = tf.tensor4d(x, [n, SIZE, SIZE, 1]);
  const labels = tf.tensor2d(y, [n, 1]);
  const optimizer = tf.train.adam(3e-3);
  const rng = createRng(5);
  const batch = 16;
  for (let step = 0; step < 150; step++) {
    const idx = tf.tensor1d(
      Array.from({ length: batch }, () => rng.int(0, n - 1)),
      'int32',
    );
    optimizer.minimize(() => {
      const xb = tf.gather(images, idx);
      return cls.loss(tf.gather(labels, idx), cls.apply(encoder.apply(xb, { training: true }), { training: true }));
    });
    idx.dispose();
  }
  optimizer.dispose();
  images.dispose();
  labels.dispose();
  return { encoder, cls };
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'mcx-cam-'));
  const { encoder, cls } = await trainMassModel();
  modelFile = join(dir, 'mass', 'model.onnx');
  plainModelFile = join(dir, 'plain', 'model.onnx');
  await writeOnnxFile(
    modelFile,
    await exportModel(createMultiCheXNet({ encoder, heads: { cls } }), {
      preprocessing: { size: SIZE },
      cam: true,
      decode: { cls: { thresholds: { Mass: 0 } } },
    }),
  );
  await writeOnnxFile(
    plainModelFile,
    await exportModel(createMultiCheXNet({ encoder, heads: { cls } }), { preprocessing: { size: SIZE } }),
  );
  encoder.dispose();
  cls.dispose();
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('class activation maps in the CLI', () => {
  it(`pointing-game: the Mass map of a model trained on synthetic films peaks on the painted mass (floor ${FLOOR})`, async () => {
    const out = join(dir, 'pointing-game.json');
    const r = await cli(
      dir,
      'pointing-game',
      ...flags({ model: modelFile, classes: 'Mass', films: 30, seed: 1, out, json: true }),
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8')) as PointingGameReport;
    const mass = report.classes.Mass!;
    expect(mass.trials).toBe(30);
    expect(report.settings.stride).toBe(8);
    expect(mass.tolerantAccuracy).toBeGreaterThanOrEqual(FLOOR);
    expect(mass.tolerantAccuracy).toBeGreaterThan(5 * mass.tolerantChance);
    // strictly on a mass pixel: far above a random peak's chance too
    expect(mass.accuracy).toBeGreaterThan(5 * mass.chance);
    expect(mass.accuracy).toBeLessThanOrEqual(mass.tolerantAccuracy);
    console.log(
      `pointing game (in-test model): strict ${mass.accuracy.toFixed(3)} (chance ${mass.chance.toFixed(3)}), tolerant ${mass.tolerantAccuracy.toFixed(3)} (chance ${mass.tolerantChance.toFixed(3)})`,
    );
  });

  it('predict --overlay writes a heatmap per finding at the film size, and --cam adds a class', async () => {
    const rng = createRng(21);
    const film = renderFilm({ size: 96, view: 'PA', sex: 'F', findings: [{ kind: 'Mass', severity: 0.9 }] }, rng);
    // a non-square film: the map goes back through the letterbox
    const w = 96;
    const h = 80;
    const px = film.pixels.slice(0, w * h);
    const file = join(dir, 'film.png');
    await writeFile(file, encode({ width: w, height: h, data: px, channels: 1, depth: 8 }));
    const r = await cli(dir, 'predict', '--model', modelFile, file, '--overlay', 'overlays', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as PredictOutput;
    const img = out.images[0]!;
    expect(img.findings).toEqual(['Mass']);
    expect(img.cams).toHaveLength(1);
    const cam = img.cams![0]!;
    expect(cam.class).toBe('Mass');
    expect(cam.peak.x).toBeGreaterThanOrEqual(0);
    expect(cam.peak.x).toBeLessThan(w);
    expect(cam.peak.y).toBeGreaterThanOrEqual(0);
    expect(cam.peak.y).toBeLessThan(h);
    const png = decode(await readFile(cam.overlay!));
    expect([png.width, png.height, png.channels]).toEqual([w, h, 3]);
    // the peak is drawn hot (red dominates), far from the gray film
    const p = (Math.floor(cam.peak.y) * w + Math.floor(cam.peak.x)) * 3;
    expect(png.data[p]! - png.data[p + 2]!).toBeGreaterThan(40);
    // the human line names the peak
    const human = await cli(dir, 'predict', '--model', modelFile, file);
    expect(human.out).toMatch(/heatmap peaks: Mass \(\d+, \d+\)/);
  });

  it('predict --cam on a model exported without maps fails with one line saying how to export them', async () => {
    const file = join(dir, 'film.png');
    const r = await cli(dir, 'predict', '--model', plainModelFile, file, '--cam', 'Mass');
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/no class activation maps.*cam: true.*multichexnet export/);
    // without --cam the same model predicts as before, with no maps
    const ok = await cli(dir, 'predict', '--model', plainModelFile, file, '--json');
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.out) as PredictOutput).images[0]!.cams).toBeUndefined();
  });
});

describe('report gallery heatmap layer', () => {
  const cam = (transform: ClassActivationMap['transform']): ClassActivationMap => ({
    className: 'Mass',
    width: 2,
    height: 2,
    data: Float32Array.from([0, 0, 0, 4]),
    stride: 32,
    transform,
    peak: { x: 0, y: 0, value: 4 },
  });

  it('draws the most probable finding on the letterboxed picture, hottest at the peak cell, the bars left clear', () => {
    // a 128 x 64 film in a 64 px model input (scale 0.5, 16 px bars top and bottom), shown at 256 px (scale 2, 64 px
    // bars)
    const transform = { width: 128, height: 64, scaleX: 0.5, scaleY: 0.5, offsetX: 0, offsetY: 16 };
    const result = {
      findings: ['Effusion', 'Mass'],
      probabilities: { Effusion: 0.6, Mass: 0.8 },
      cams: { Effusion: { ...cam(transform), className: 'Effusion' }, Mass: cam(transform) },
    } as unknown as PipelineResult;
    const layer = galleryCamLayer(
      result,
      { width: 128, height: 64, scaleX: 2, scaleY: 2, offsetX: 0, offsetY: 64 },
      256,
    )!;
    expect(layer.className).toBe('Mass');
    const png = decode(layer.png);
    expect([png.width, png.height, png.channels]).toEqual([256, 256, 4]);
    const alpha = (x: number, y: number): number => png.data[(y * 256 + x) * 4 + 3]!;
    expect(alpha(128, 10)).toBe(0);
    expect(alpha(128, 250)).toBe(0);
    // the bottom-right cell (value 4) is the hottest, the top-left (0) transparent
    expect(alpha(250, 190)).toBeGreaterThan(240);
    expect(alpha(5, 70)).toBe(0);
    expect(
      galleryCamLayer(
        { findings: [], cams: {} } as unknown as PipelineResult,
        { width: 1, height: 1, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 },
        256,
      ),
    ).toBeNull();
  });
});

describe('report gallery', () => {
  it("shows each item's heatmap layer over its film, with a switch for all of them", async () => {
    const run = join(dir, 'report-run');
    await mkdir(join(run, 'gallery'), { recursive: true });
    const gray = encode({ width: 4, height: 4, data: new Uint8Array(16).fill(90), channels: 1, depth: 8 });
    const heat = encode({ width: 4, height: 4, data: new Uint8Array(64).fill(200), channels: 4, depth: 8 });
    await writeFile(join(run, 'gallery', '00-nih.png'), gray);
    await writeFile(join(run, 'gallery', '00-nih-cam.png'), heat);
    const gallery: Gallery = {
      format: 'multichexnet-gallery',
      model: 'model.stage1.onnx',
      items: [
        {
          id: 'nih-0123456789ab',
          source: 'nih',
          image: '00-nih.png',
          maskLayer: null,
          size: 4,
          gate: { probability: 0.2, positive: false, truth: null },
          boxes: [],
          dice: null,
          top: [{ class: 'Mass', probability: 0.7 }],
          truthLabels: ['Mass'],
          flags: [],
          cam: { class: 'Mass', layer: '00-nih-cam.png' },
        },
      ],
    };
    await writeFile(join(run, 'gallery', 'gallery.json'), JSON.stringify(gallery));
    const page = await readFile((await writeReport(run)).path, 'utf8');
    expect(page).toContain(
      `<img class="cam" alt="heatmap Mass" src="data:image/png;base64,${Buffer.from(heat).toString('base64')}">`,
    );
    expect(page).toContain('id="cam-toggle"');
    expect(page).toContain('heatmap: Mass');
  });
});
