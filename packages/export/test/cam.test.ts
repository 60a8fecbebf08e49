import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { CHESTXRAY14_CLASSES, DataError, initBackend, tf, type GrayImage } from '@multichexnet/core';
// Tests compose the real encoder with the real heads to check export parity; src/ never imports the encoder.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createEncoder } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createDetHead } from '@multichexnet/head-det';
import { preprocessImage, type PreprocessConfig } from '@multichexnet/data';
import { createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import {
  CAM_OUTPUT,
  camHeatRgba,
  camToImage,
  createPipeline,
  decodeCams,
  loadModel,
  renderCamOverlayPng,
  runModel,
  type ClassActivationMap,
} from '@multichexnet/runtime';
import { exportModel, exportPipeline, type PipelineModels } from '../src/index';
import { maxAbsDiff, onnxCheckerAvailable, randomizeStatistics, runOnnxChecker } from './helpers/parity';

const SIZE = 128;
const TOL = 1e-4;
const CLASSES = [...CHESTXRAY14_CLASSES];
const THRESHOLDS = { Pneumonia: 0, Mass: 1 };
let blocks: {
  encoder: ReturnType<typeof createEncoder>;
  cls: ReturnType<typeof createClsHead>;
  det: ReturnType<typeof createDetHead>;
};
let model: MultiCheXNet;
let withCam: PipelineModels;
let single: Uint8Array;

beforeAll(async () => {
  await initBackend('cpu');
  const encoder = createEncoder({ preset: 'densenet-tiny', seed: 7 });
  const cls = createClsHead({ classes: CLASSES, featureChannels: encoder.featureChannels, seed: 8 });
  const det = createDetHead({ featureChannels: encoder.featureChannels, hiddenChannels: 8, seed: 9 });
  for (const [i, b] of [encoder, cls, det].entries()) randomizeStatistics(b.layersModel, 70 + i);
  blocks = { encoder, cls, det };
  model = createMultiCheXNet({ encoder, heads: { cls, det } });
  const options = { preprocessing: { size: SIZE }, cam: true, decode: { cls: { thresholds: THRESHOLDS } } };
  withCam = await exportPipeline(model, options);
  single = await exportModel(model, options);
});

afterAll(() => {
  for (const b of Object.values(blocks)) b.dispose();
});

/** A gray film with a bright blob, `w` x `h`, 8-bit. */
function film(w: number, h: number, seed: number): GrayImage {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const blob = Math.exp(-(((x - w * 0.3 - seed * 5) / (w * 0.12)) ** 2 + ((y - h * 0.6) / (h * 0.15)) ** 2));
      data[y * w + x] = Math.round(Math.min(255, 30 + (120 * y) / h + 100 * blob));
    }
  }
  return { width: w, height: h, data };
}

/** tfjs's CAM [B, h, w, C] NHWC of preprocessed films, as NCHW values. */
function tfjsCam(
  images: GrayImage[],
  pre: PreprocessConfig,
): { nchw: Float32Array; dims: number[]; input: Float32Array } {
  const input = new Float32Array(images.length * SIZE * SIZE);
  images.forEach((img, b) => input.set(preprocessImage({ ...img, maxValue: 255 }, pre).input, b * SIZE * SIZE));
  return tf.tidy(() => {
    const x = tf.tensor4d(input, [images.length, SIZE, SIZE, 1]);
    const cam = blocks.cls.cam(blocks.encoder.apply(x));
    const nchw = tf.transpose(cam, [0, 3, 1, 2]);
    return { nchw: nchw.dataSync() as Float32Array, dims: nchw.shape, input };
  });
}

describe('cls_cam: class activation maps in the ONNX export', () => {
  it('is an opt-in output [B, C, h, w] NCHW; the default export is unchanged', async () => {
    const plain = await exportPipeline(model, {
      preprocessing: { size: SIZE },
      decode: { cls: { thresholds: THRESHOLDS } },
    });
    const off = await exportPipeline(model, {
      preprocessing: { size: SIZE },
      cam: false,
      decode: { cls: { thresholds: THRESHOLDS } },
    });
    expect(Buffer.from(off.stage1).equals(Buffer.from(plain.stage1))).toBe(true);
    expect(plain.reports.stage1.metadata.outputs.map((o) => o.name)).not.toContain(CAM_OUTPUT);
    // the maps cost one 1x1 kernel: C5 x 14 weights
    expect(withCam.stage1.byteLength - plain.stage1.byteLength).toBeGreaterThanOrEqual(
      blocks.encoder.featureChannels.c5 * 14 * 4,
    );
    expect(withCam.stage1.byteLength - plain.stage1.byteLength).toBeLessThan(
      blocks.encoder.featureChannels.c5 * 14 * 4 + 2048,
    );
    const spec = withCam.reports.stage1.metadata.outputs.find((o) => o.name === CAM_OUTPUT)!;
    expect(spec.layout).toBe('NCHW');
    expect(spec.shape).toEqual([null, 14, SIZE / 32, SIZE / 32]);
    // stage 2 does not change
    expect(Buffer.from(withCam.stage2!).length).toBeGreaterThan(0);
  });

  it.each(['node', 'web'] as const)(
    'equals the tfjs CAM within 1e-4 on onnxruntime-%s (single graph and stage 1)',
    async (backend) => {
      const pre = withCam.reports.stage1.metadata.preprocessing!;
      const images = [film(SIZE, SIZE, 0), film(SIZE, SIZE, 3), film(SIZE, SIZE, 6)];
      const ref = tfjsCam(images, pre);
      for (const bytes of [single, withCam.stage1]) {
        const model = await loadModel(bytes, { backend, threads: 1 });
        const out = await runModel(model, { image: { data: ref.input, dims: [3, SIZE, SIZE, 1] } });
        expect(out[CAM_OUTPUT]!.dims).toEqual(ref.dims);
        expect(maxAbsDiff(out[CAM_OUTPUT]!.data, ref.nchw)).toBeLessThan(TOL);
        await model.dispose();
      }
    },
  );

  it.skipIf(!onnxCheckerAvailable())('passes the ONNX checker', () => {
    expect(runOnnxChecker(single).ok).toBe(true);
    expect(runOnnxChecker(withCam.stage1).ok).toBe(true);
  });

  it('is refused by name for a cls head with a hidden layer', async () => {
    const hidden = createClsHead({
      classes: CLASSES,
      featureChannels: blocks.encoder.featureChannels,
      hidden: 4,
      seed: 1,
    });
    await expect(
      exportModel(createMultiCheXNet({ encoder: blocks.encoder, heads: { cls: hidden, det: blocks.det } }), {
        preprocessing: { size: SIZE },
        cam: true,
      }),
    ).rejects.toThrow(/hidden layer.*cls\.hidden/);
    hidden.dispose();
  });
});

describe('the pipeline returns the maps', () => {
  it('of the findings by default and of the classes asked for, mapped onto a letterboxed film', async () => {
    const pipe = await createPipeline({
      model: { stage1: withCam.stage1, stage2: withCam.stage2 },
      cam: { classes: ['Effusion'] },
    });
    const image = film(160, 100, 1);
    const r = await pipe.run(image);
    expect(r.findings).toEqual(['Pneumonia']);
    expect(Object.keys(r.cams!).sort()).toEqual(['Effusion', 'Pneumonia']);
    const cam = r.cams!.Pneumonia!;
    expect([cam.width, cam.height, cam.stride]).toEqual([4, 4, 32]);
    expect([cam.transform.width, cam.transform.height]).toEqual([160, 100]);
    // the peak is the largest cell centred on the film (the letterbox bars hold rows 0 and 3 of the grid's centres)
    expect(cam.peak.y).toBeGreaterThanOrEqual(0);
    expect(cam.peak.y).toBeLessThan(100);
    const rows = [1, 2];
    const onFilm = rows.flatMap((gy) => [0, 1, 2, 3].map((gx) => cam.data[gy * 4 + gx]!));
    expect(cam.peak.value).toBe(Math.max(...onFilm));
    // the values are the graph's: the same as decodeCams on a direct run
    const { input, transform } = preprocessImage({ ...image, maxValue: 255 }, pipe.metadata.preprocessing!);
    const model = await loadModel(withCam.stage1);
    const direct = decodeCams(
      await runModel(model, { image: { data: input, dims: [1, SIZE, SIZE, 1] } }),
      model.metadata,
      { transform, classes: ['Pneumonia'] },
    );
    expect(Array.from(direct.Pneumonia!.data)).toEqual(Array.from(cam.data));
    await model.dispose();
    const all = await createPipeline({
      model: { model: single },
      gate: { enabled: false },
      cam: { classes: 'all', findings: false },
    });
    expect(Object.keys((await all.run(image)).cams!)).toHaveLength(14);
    await all.dispose();
    await pipe.dispose();
  });

  it('refuses a class the model lacks, and maps asked of a model exported without them', async () => {
    await expect(
      createPipeline({ model: { model: single }, gate: { enabled: false }, cam: { classes: ['Covid19'] } }),
    ).rejects.toThrow(/cam\.classes.*found Covid19/);
    const plain = await exportModel(model, { preprocessing: { size: SIZE } });
    await expect(
      createPipeline({ model: { model: plain }, gate: { enabled: false }, cam: { classes: ['Mass'] } }),
    ).rejects.toThrow(DataError);
    await expect(
      createPipeline({ model: { model: plain }, gate: { enabled: false }, cam: { classes: ['Mass'] } }),
    ).rejects.toThrow(/export it with cam: true/);
    // without a request, a model without maps runs as before
    const p = await createPipeline({ model: { model: plain }, gate: { enabled: false } });
    expect((await p.run(film(SIZE, SIZE, 2))).cams).toBeUndefined();
    await p.dispose();
  });
});

describe('drawing a map at the film size', () => {
  /** A 2 x 2 grid over a 64 px input, with `transform`. */
  const grid = (transform: ClassActivationMap['transform'], values = [1, 2, 3, 4]): ClassActivationMap => ({
    className: 'Mass',
    width: 2,
    height: 2,
    data: Float32Array.from(values),
    stride: 32,
    transform,
    peak: { x: 0, y: 0, value: Math.max(...values) },
  });

  it('samples the grid bilinearly through the fit: cell centres give the cell values, letterbox bars drop out', () => {
    // a 32 x 16 film letterboxed into 64 px: scale 2, 16 px bars top and bottom
    const cam = grid({ width: 32, height: 16, scaleX: 2, scaleY: 2, offsetX: 0, offsetY: 16 });
    const heat = camToImage(cam);
    expect(heat).toHaveLength(32 * 16);
    // film pixel (7, 7): centre (7.5, 7.5) -> input (15, 31) -> grid (-0.03 clamped to 0, 0.46875): 1 + 2 * 0.46875
    expect(heat[7 * 32 + 7]).toBeCloseTo(1.9375, 5);
    // film pixel (15, 7) -> input (31, 31) -> grid (0.46875, 0.46875): 1 + 0.46875 + 2 * 0.46875
    expect(heat[7 * 32 + 15]).toBeCloseTo(2.40625, 5);
    // film pixel (31, 15) -> input (63, 47) -> grid (1.47 clamped to 1, 0.96875): 2 + 2 * 0.96875
    expect(heat[15 * 32 + 31]).toBeCloseTo(3.9375, 5);
  });

  it('colours positive evidence from transparent to red at the peak; the PNG overlay keeps the film size', () => {
    const cam = grid({ width: 64, height: 64, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 }, [-1, 0, 0, 4]);
    const rgba = camHeatRgba(cam);
    const at = (x: number, y: number) => Array.from(rgba.slice((y * 64 + x) * 4, (y * 64 + x) * 4 + 4));
    expect(at(63, 63)).toEqual([255, 0, 0, 255]);
    expect(at(0, 0)[3]).toBe(0);
    const image: GrayImage = { width: 64, height: 64, data: new Uint8Array(64 * 64).fill(100) };
    const png = decode(renderCamOverlayPng(image, cam, { maxValue: 255 }));
    expect([png.width, png.height, png.channels]).toEqual([64, 64, 3]);
    expect(Array.from(png.data.slice(0, 3))).toEqual([100, 100, 100]);
    // at the peak: 60 % pure red over the gray 100
    expect(Array.from(png.data.slice((63 * 64 + 63) * 3, (63 * 64 + 63) * 3 + 3))).toEqual([193, 40, 40]);
    expect(() => renderCamOverlayPng({ width: 10, height: 10, data: new Uint8Array(100) }, cam)).toThrow(
      /another image size/,
    );
    // a map without positive evidence draws nothing
    expect(camHeatRgba(grid(cam.transform, [-1, -2, -3, -4])).every((v) => v === 0)).toBe(true);
  });
});
