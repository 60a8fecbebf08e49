import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { DataError, initBackend, tf, type GrayImage } from '@multichexnet/core';
import {
  preprocessImage,
  unfitBoxes,
  type DecodedImage,
  type FitTransform,
  type PreprocessConfig,
} from '@multichexnet/data';
import { decodeDetections, selectBoxes } from '@multichexnet/head-det';
import {
  createPipeline,
  fitImageSpace,
  loadModel,
  renderOverlayPng,
  runModel,
  verifyModelBytes,
} from '@multichexnet/runtime';
import { exportPipeline, writePipelineFiles, type PipelineModels } from '../src/index';
import { buildBlocks, clsGate, referenceForward } from './helpers/models';
import { maxAbsDiff, onnxCheckerAvailable, runOnnxChecker } from './helpers/parity';
import { readRealImage, REAL_IMAGES, realImagesAvailable } from './helpers/real-images';

const SIZE = 64;
const TOL = 1e-4;
let blocks: ReturnType<typeof buildBlocks>;
let models: PipelineModels;
let dir: string;

beforeAll(async () => {
  await initBackend('cpu');
  blocks = buildBlocks('densenet-tiny', 3);
  models = await exportPipeline(blocks.model, { preprocessing: { size: SIZE } });
  dir = await mkdtemp(join(tmpdir(), 'mcx-pipe-'));
  await writePipelineFiles(dir, models);
});

afterAll(async () => {
  blocks.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A synthetic gray image: a smooth gradient with a bright blob, `w` x `h`, 8-bit. */
function gradientImage(w: number, h: number, seed: number): GrayImage {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const blob = Math.exp(-(((x - w * 0.3 - seed * 3) / (w * 0.15)) ** 2 + ((y - h * 0.6) / (h * 0.2)) ** 2));
      data[y * w + x] = Math.round(Math.min(255, 40 + (150 * x) / w + 60 * blob + seed * 7));
    }
  }
  return { width: w, height: h, data };
}

/** The tfjs-side input batch, preprocessed by @multichexnet/data exactly as the pipeline does. */
function nhwcBatch(images: DecodedImage[], spec: PreprocessConfig): { x: tf.Tensor4D; transforms: FitTransform[] } {
  const S = spec.size;
  const data = new Float32Array(images.length * S * S);
  const transforms = images.map((img, b) => {
    const { input, transform } = preprocessImage(img, spec);
    data.set(input, b * S * S);
    return transform;
  });
  return { x: tf.tensor4d(data, [images.length, S, S, 1]), transforms };
}

describe('exportPipeline: two graphs matching tfjs (densenet-tiny + cls + det + seg)', () => {
  it('writes self-describing stage graphs that belong together', async () => {
    const s1 = await loadModel(models.stage1);
    const s2 = await loadModel(models.stage2!);
    expect(s1.metadata.role).toBe('stage1');
    expect(s1.metadata.outputs.map((o) => o.name)).toEqual([
      'cls_probs',
      'feat_c2',
      'feat_c3',
      'feat_c4',
      'feat_c5',
      'gate_prob',
    ]);
    expect(s1.metadata.gate).toEqual(clsGate(['Pneumonia', 'Pneumothorax'], 0.5));
    expect(s1.metadata.tasks).toEqual(['cls']);
    expect(s1.metadata.blocks.map((b) => b.className)).toEqual([
      'core-encoder/DenseNetEncoder',
      'head-cls/ClsHead',
      'head-det/DetHead',
      'head-seg/SegHead',
    ]);
    expect(s1.metadata.preprocessing).toMatchObject({
      size: SIZE,
      fit: 'letterbox',
      interpolation: 'area',
      mean: 0.5,
      std: 0.25,
    });
    expect(s2.metadata.role).toBe('stage2');
    expect(s2.metadata.pairedWith).toBe(s1.checksum);
    expect(s2.metadata.inputs.map((i) => [i.name, i.layout])).toEqual([
      ['feat_c2', 'NCHW'],
      ['feat_c3', 'NCHW'],
      ['feat_c4', 'NCHW'],
      ['feat_c5', 'NCHW'],
    ]);
    expect(s2.metadata.outputs.map((o) => o.name)).toEqual(['det_raw', 'seg_mask', 'det_boxes', 'det_scores']);
    expect(s2.metadata.tasks).toEqual(['cls', 'det', 'seg']);
    expect(s2.metadata.decode).toMatchObject({
      det: { scoreThreshold: 0.05, nmsIoU: 0.5, maxDetections: 10 },
      seg: { threshold: 0.5, minArea: 0 },
    });
    // The stage-1 features leave NCHW and stage 2 takes them NCHW: the only transposes are the image's and the
    // NHWC outputs'.
    expect(models.reports.stage1.ops.Transpose).toBe(1);
    expect(models.reports.stage2!.ops.Transpose).toBe(2);
    await s1.dispose();
    await s2.dispose();
  });

  it.runIf(onnxCheckerAvailable())('passes onnx.checker with full shape inference (both stages)', () => {
    for (const bytes of [models.stage1, models.stage2!]) {
      const r = runOnnxChecker(bytes);
      expect(r.message).toMatch(/^ok 17/);
    }
  });

  it.each(['node', 'web'] as const)('stage 1 and stage 2 match tfjs on random images (%s)', async (backend) => {
    const s1 = await loadModel(models.stage1, { backend });
    const s2 = await loadModel(models.stage2!, { backend });
    const x = tf.randomNormal([2, SIZE, SIZE, 1], 0, 1, 'float32', 21) as tf.Tensor4D;
    const ref = referenceForward(blocks, x);
    const o1 = await runModel(s1, { image: { data: x.dataSync() as Float32Array, dims: [2, SIZE, SIZE, 1] } });
    expect(maxAbsDiff(ref.clsProbs.dataSync(), o1.cls_probs!.data)).toBeLessThan(TOL);
    for (const level of ['c2', 'c3', 'c4', 'c5'] as const) {
      const nchw = tf.tidy(() => ref.features[level].transpose([0, 3, 1, 2]).dataSync());
      expect(maxAbsDiff(nchw, o1[`feat_${level}`]!.data)).toBeLessThan(TOL);
    }
    const feeds = Object.fromEntries(['c2', 'c3', 'c4', 'c5'].map((l) => [`feat_${l}`, o1[`feat_${l}`]!]));
    const o2 = await runModel(s2, feeds);
    expect(maxAbsDiff(ref.detRaw.dataSync(), o2.det_raw!.data)).toBeLessThan(TOL);
    expect(maxAbsDiff(ref.segProbs.dataSync(), o2.seg_mask!.data)).toBeLessThan(TOL);
    expect(o2.seg_mask!.dims).toEqual([2, SIZE, SIZE, 1]);

    // In-graph box decoding against head-det's own decoder (all boxes: threshold 0, no NMS, no cap).
    const all = { scoreThreshold: 0, nmsIoU: 1, maxDetections: 1e9 };
    const expected = decodeDetections(ref.detRaw as tf.Tensor4D, blocks.det.config, all);
    const n = o2.det_scores!.dims[1]!;
    expect(n).toBe(2 * 2 * blocks.det.anchors.length);
    for (let b = 0; b < 2; b++) {
      const got = selectBoxes(
        o2.det_boxes!.data.subarray(b * n * 4, (b + 1) * n * 4),
        o2.det_scores!.data.subarray(b * n, (b + 1) * n),
        all,
      );
      expect(got.length).toBe(expected[b]!.length);
      expect(got.length).toBeGreaterThan(0);
      got.forEach((box, i) => {
        const e = expected[b]![i]!;
        expect(Math.abs(box.score - e.score)).toBeLessThan(TOL);
        for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(box[k] - e[k])).toBeLessThan(1e-3);
      });
    }
    tf.dispose([x, ref.clsProbs, ref.detRaw, ref.segProbs, ...Object.values(ref.features)]);
    await s1.dispose();
    await s2.dispose();
  });
});

describe('createPipeline: gated inference', () => {
  it.runIf(realImagesAvailable())(
    'matches tfjs on the real chest X-rays (probabilities, gate, boxes, mask; skipped without ../shared/realdata)',
    async () => {
      const images = REAL_IMAGES.map(readRealImage);
      const spec = (await verifyModelBytes(models.stage1)).metadata.preprocessing!;
      const { x, transforms } = nhwcBatch(images, spec);
      const ref = referenceForward(blocks, x);
      // A mask threshold inside the range the random-weight model produces, so the mask comparison is not all-ones.
      const sorted = Array.from(ref.segProbs.dataSync()).sort((a, b) => a - b);
      const segThreshold = sorted[Math.floor(sorted.length / 2)]!;
      const pipe = await createPipeline({
        model: dir,
        gate: { enabled: false },
        decode: { seg: { threshold: segThreshold } },
      });
      const results = await pipe.runBatch(images);
      const probs = ref.clsProbs.dataSync();
      const detAll = decodeDetections(ref.detRaw as tf.Tensor4D, blocks.det.config);
      const segProbs = ref.segProbs.dataSync() as Float32Array;
      results.forEach((r, b) => {
        const img = images[b]!;
        const p = pipe.metadata.classNames.map((c) => r.probabilities![c]!);
        expect(maxAbsDiff(p, probs.subarray(b * 14, (b + 1) * 14))).toBeLessThan(TOL);
        expect(r.gate.probability).toBe(Math.max(r.probabilities!.Pneumonia!, r.probabilities!.Pneumothorax!));
        // Boxes in original pixels: head-det's decoder, mapped back through data's letterbox transform.
        const expected = unfitBoxes(detAll[b]!, transforms[b]!);
        expect(r.boxes!.length).toBe(expected.length);
        r.boxes!.forEach((box, i) => {
          expect(Math.abs(box.score - expected![i]!.score)).toBeLessThan(TOL);
          expect(Math.abs(box.x - expected![i]!.x)).toBeLessThan(0.05);
          expect(Math.abs(box.width - expected![i]!.width)).toBeLessThan(0.05);
        });
        // Mask: same decoding applied to the tfjs probabilities; allow the few pixels that sit on the threshold.
        const want = fitImageSpace(transforms[b]!, { width: SIZE, height: SIZE }).mask(
          segProbs.subarray(b * SIZE * SIZE, (b + 1) * SIZE * SIZE),
          segThreshold,
        );
        expect(r.mask!.width).toBe(img.width);
        let differ = 0;
        for (let i = 0; i < want.data.length; i++) if (want.data[i] !== r.mask!.data[i]) differ++;
        expect(differ / want.data.length).toBeLessThan(1e-3);
        expect(r.timings.totalMs).toBeGreaterThan(0);
      });
      // The comparison is not vacuous: the random-weight model does predict boxes and foreground on these images.
      expect(results.reduce((n, r) => n + r.boxes!.length, 0)).toBeGreaterThan(0);
      const foreground = results.reduce((n, r) => n + r.mask!.data.reduce((a, v) => a + v, 0), 0);
      const pixels = results.reduce((n, r) => n + r.mask!.data.length, 0);
      expect(foreground / pixels).toBeGreaterThan(0.05);
      expect(foreground / pixels).toBeLessThan(0.95);
      tf.dispose([x, ref.clsProbs, ref.detRaw, ref.segProbs, ...Object.values(ref.features)]);
      await pipe.dispose();
    },
  );

  it('runs det/seg only for images the gate passes, on the cached features', async () => {
    const images = [0, 1, 2, 3, 4, 5].map((s) => gradientImage(80, 72, s));
    const ungated = await createPipeline({ model: dir, gate: { enabled: false } });
    const all = await ungated.runBatch(images);
    // A threshold between the gate probabilities splits the set.
    const gp = all.map((r) => r.gate.probability).sort((a, b) => a - b);
    const threshold = (gp[2]! + gp[3]!) / 2;
    const gated = await createPipeline({
      model: { stage1: models.stage1, stage2: models.stage2 },
      gate: { threshold },
    });
    const some = await gated.runBatch(images);
    let passed = 0;
    some.forEach((r, i) => {
      expect(r.gate.probability).toBeCloseTo(all[i]!.gate.probability, 6);
      expect(r.gate.positive).toBe(r.gate.probability >= threshold);
      if (r.gate.positive) {
        passed++;
        // Same boxes and mask as the ungated run: stage 2 on the gathered rows of the cached features.
        expect(r.boxes).toEqual(all[i]!.boxes);
        expect(r.mask!.data).toEqual(all[i]!.mask!.data);
        expect(r.timings.stage2Ms).toBeGreaterThan(0);
      } else {
        expect(r.boxes).toEqual([]);
        expect(r.mask).toBeNull();
        expect(r.timings.stage2Ms).toBe(0);
      }
    });
    expect(passed).toBe(3);
    // Nothing passes: stage 2 never runs.
    const none = await createPipeline({ model: dir, gate: { threshold: 1 } });
    const r0 = await none.run(images[0]!);
    expect(r0.gate.positive).toBe(false);
    await Promise.all([ungated.dispose(), gated.dispose(), none.dispose()]);
  });

  it('runs a single-graph model.onnx with the same results as the two stages', async () => {
    const { exportModel, writeOnnxFile } = await import('../src/index');
    const single = await exportModel(blocks.model, { preprocessing: { size: SIZE } });
    const images = [0, 1, 2, 3].map((s) => gradientImage(90, 70, s));
    const twoStage = await createPipeline({
      model: dir,
      gate: { enabled: false },
      decode: { seg: { threshold: 0.6 } },
    });
    const a = await twoStage.runBatch(images);
    const gp = a.map((r) => r.gate.probability).sort((x, y) => x - y);
    const threshold = (gp[1]! + gp[2]!) / 2;
    const oneGraph = await createPipeline({
      model: { model: single },
      gate: { threshold },
      decode: { seg: { threshold: 0.6 } },
    });
    const b = await oneGraph.runBatch(images);
    b.forEach((r, i) => {
      expect(maxAbsDiff(Object.values(r.probabilities!), Object.values(a[i]!.probabilities!))).toBeLessThan(1e-5);
      expect(r.gate.positive).toBe(a[i]!.gate.probability >= threshold);
      if (r.gate.positive) {
        expect(r.boxes!.length).toBe(a[i]!.boxes!.length);
        r.boxes!.forEach((box, k) => expect(Math.abs(box.score - a[i]!.boxes![k]!.score)).toBeLessThan(1e-5));
        expect(r.mask!.data).toEqual(a[i]!.mask!.data);
      } else {
        expect([r.boxes, r.mask]).toEqual([[], null]);
      }
    });
    // A run folder holding only model.onnx opens the same way.
    const only = await mkdtemp(join(tmpdir(), 'mcx-single-'));
    await writeOnnxFile(join(only, 'model.onnx'), single);
    const fromDir = await createPipeline({ model: only, gate: { enabled: false } });
    expect(fromDir.metadata.role).toBe('model');
    expect((await fromDir.run(images[0]!)).boxes!.length).toBe(a[0]!.boxes!.length);
    await Promise.all([twoStage.dispose(), oneGraph.dispose(), fromDir.dispose()]);
    await rm(only, { recursive: true, force: true });
  });

  it('runs on onnxruntime-web with the same results as onnxruntime-node', async () => {
    const image = gradientImage(96, 96, 2);
    const a = await createPipeline({ model: dir, gate: { enabled: false } });
    const b = await createPipeline({ model: dir, gate: { enabled: false }, backend: 'web', threads: 1 });
    const [ra, rb] = [await a.run(image), await b.run(image)];
    for (const c of Object.keys(ra.probabilities!))
      expect(Math.abs(ra.probabilities![c]! - rb.probabilities![c]!)).toBeLessThan(TOL);
    expect(rb.boxes!.length).toBe(ra.boxes!.length);
    // The execution provider is the caller's choice (the demo asks for webgpu and falls back to wasm itself).
    const c = await createPipeline({
      model: dir,
      gate: { enabled: false },
      backend: 'web',
      executionProviders: ['wasm'],
    });
    expect((await c.run(image)).probabilities).toEqual(rb.probabilities);
    await expect(
      createPipeline({ model: dir, backend: 'web', executionProviders: ['no-such-provider'] }),
    ).rejects.toThrow(DataError);
    await expect(createPipeline({ model: dir, executionProviders: [] })).rejects.toThrow(/executionProviders/);
    await Promise.all([a.dispose(), b.dispose(), c.dispose()]);
  });

  it('refuses a stage 2 from another export, and bad options', async () => {
    const other = buildBlocks('densenet-tiny', 9);
    const otherModels = await exportPipeline(other.model, { preprocessing: { size: SIZE } });
    other.dispose();
    await expect(createPipeline({ model: { stage1: models.stage1, stage2: otherModels.stage2 } })).rejects.toThrow(
      /stage 2 does not belong to this stage 1/,
    );
    await expect(createPipeline({ model: { stage1: models.stage2!, stage2: null } })).rejects.toThrow(/wrong role/);
    await expect(createPipeline({ model: { model: models.stage2! } })).rejects.toThrow(
      /wrong role.*expected model or stage1, found stage2/,
    );
    await expect(createPipeline({ model: dir, gate: { threshold: 2 } })).rejects.toThrow(
      /gate.threshold: must be <= 1/,
    );
    const pipe = await createPipeline({ model: dir });
    await expect(pipe.run({ width: 10, height: 10, data: new Uint8Array(5) })).rejects.toThrow(DataError);
    const nan = new Float32Array(100).fill(0.5);
    nan[42] = NaN;
    await expect(pipe.runBatch([gradientImage(10, 10, 0), { width: 10, height: 10, data: nan }])).rejects.toThrow(
      /non-finite pixels \(row 2, field image\): expected finite values, found NaN at pixel 42/,
    );
    await pipe.dispose();
  });

  it("records decision settings chosen on validation in both graphs, over the heads' own", async () => {
    const chosen = {
      det: { scoreThreshold: 0.3 },
      seg: { threshold: 0.4, minArea: 20 },
      cls: { thresholds: { Pneumonia: 0.2 } },
    };
    const m = await exportPipeline(blocks.model, { preprocessing: { size: SIZE }, decode: chosen });
    const want = {
      det: { scoreThreshold: 0.3, nmsIoU: 0.5, maxDetections: 10 },
      seg: { threshold: 0.4, minArea: 20 },
      cls: { classes: blocks.cls.config.classes, thresholds: { Pneumonia: 0.2 } },
    };
    for (const bytes of [m.stage1, m.stage2!]) {
      const loaded = await loadModel(bytes);
      expect(loaded.metadata.decode).toEqual(want);
      await loaded.dispose();
    }
    await expect(
      exportPipeline(blocks.model, {
        preprocessing: { size: SIZE },
        decode: { cls: { thresholds: { Pneumonia: 0.2, Pneumonai: 0.3 } } },
      }),
    ).rejects.toThrow(/cls.thresholds.*Pneumonai/);
    await expect(
      exportPipeline(blocks.model, { preprocessing: { size: SIZE }, decode: { seg: { minArea: -1 } } }),
    ).rejects.toThrow(/seg.minArea/);
    await expect(
      exportPipeline(blocks.model, { preprocessing: { size: SIZE }, decode: { det: { nms: 0.4 } } }),
    ).rejects.toThrow(/Unknown decode setting \(field det.nms\)/);
  });

  it('exports without leaking tensors', async () => {
    await exportPipeline(blocks.model, { preprocessing: { size: SIZE } }); // warm-up
    const before = tf.memory().numTensors;
    await exportPipeline(blocks.model, { preprocessing: { size: SIZE } });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('renders an overlay PNG of image, mask and boxes', async () => {
    const image = gradientImage(64, 48, 1);
    const mask = { width: 64, height: 48, data: new Uint8Array(64 * 48) };
    mask.data[10 * 64 + 10] = 1;
    const png = PNG.sync.read(
      Buffer.from(renderOverlayPng(image, { boxes: [{ x: 20, y: 5, width: 30, height: 20, score: 0.9 }], mask })),
    );
    expect([png.width, png.height]).toEqual([64, 48]);
    const px = (x: number, y: number) => Array.from(png.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3));
    expect(px(20, 5)).toEqual([255, 220, 0]); // box corner
    expect(px(49, 24)).toEqual([255, 220, 0]); // opposite corner
    const [r, g] = px(10, 10);
    expect(r!).toBeGreaterThan(g!); // red tint on the mask pixel
    const [r2, g2, b2] = px(0, 40);
    expect(r2).toBe(g2);
    expect(g2).toBe(b2); // untouched gray elsewhere
    expect(() =>
      renderOverlayPng(image, { boxes: [], mask: { width: 2, height: 2, data: new Uint8Array(4) } }),
    ).toThrow(/Mask size differs/);
  });
});
