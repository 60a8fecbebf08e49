import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, deserializeBlock, initBackend, tf } from '@multichexnet/core';
import { preprocessImage } from '@multichexnet/data';
import { decodeDetections, selectBoxes } from '@multichexnet/head-det';
import { createClsHead } from '@multichexnet/head-cls';
import { createPipeline, loadModel, runModel, verifyModelBytes } from '@multichexnet/runtime';
import { exportModelWithReport, exportPipeline, type ExportReport } from '../src/index';
import { buildBlocks, referenceForward, withGateHead } from './helpers/models';
import { maxAbsDiff, randomizeStatistics } from './helpers/parity';
import { readRealImage, REAL_IMAGES, realImagesAvailable } from './helpers/real-images';

const SIZE = 128;
const TOL = 1e-4;
let blocks: ReturnType<typeof buildBlocks>;
let gate: ReturnType<typeof createClsHead>;
let report: ExportReport;

beforeAll(async () => {
  await initBackend('cpu');
  // The project's default encoder preset with every head, and a one-class cls head as a dedicated binary gate.
  blocks = buildBlocks('densenet-small', 5);
  gate = createClsHead({
    classes: ['abnormal'],
    featureChannels: blocks.encoder.featureChannels,
    seed: 77,
    name: 'gate',
  });
  randomizeStatistics(gate.layersModel, 78);
  report = await exportModelWithReport(withGateHead(blocks.model, gate), { preprocessing: { size: SIZE } });
});

afterAll(() => {
  blocks.dispose();
  gate.dispose();
});

/** Random images and (when present) the real X-rays, preprocessed by @multichexnet/data. */
function inputs(): tf.Tensor4D {
  const random = tf.randomNormal([2, SIZE, SIZE, 1], 0, 1, 'float32', 4);
  if (!realImagesAvailable()) return random as tf.Tensor4D;
  const real = REAL_IMAGES.map((f) => preprocessImage(readRealImage(f), { size: SIZE }).input);
  const realT = tf.tensor4d(Float32Array.from(real.flatMap((a) => Array.from(a))), [real.length, SIZE, SIZE, 1]);
  const all = tf.concat([random, realT]) as tf.Tensor4D;
  tf.dispose([random, realT]);
  return all;
}

describe('exportModel: one graph, densenet-small + cls + det + seg + gate head', () => {
  it('describes itself', () => {
    const m = report.metadata;
    expect(m.role).toBe('model');
    expect(m.outputs.map((o) => o.name)).toEqual([
      'cls_probs',
      'det_raw',
      'seg_mask',
      'gate_prob',
      'det_boxes',
      'det_scores',
    ]);
    expect(m.tasks).toEqual(['cls', 'det', 'seg']);
    expect(m.decode).toEqual({
      cls: { classes: [...CHESTXRAY14_CLASSES] },
      det: { scoreThreshold: 0.05, nmsIoU: 0.5, maxDetections: 10 },
      seg: { threshold: 0.5, minArea: 0 },
    });
    expect(m.gate).toEqual({ source: 'output', output: 'gate_prob', threshold: 0.5 });
    expect(m.inputSize).toEqual([SIZE, SIZE]);
    expect(m.classNames).toEqual([...CHESTXRAY14_CLASSES]);
    expect(m.blocks.map((b) => b.className)).toEqual([
      'core-encoder/DenseNetEncoder',
      'head-cls/ClsHead',
      'head-det/DetHead',
      'head-seg/SegHead',
      'head-cls/ClsHead',
    ]);
    expect((m.blocks[0]!.config as { preset: string }).preset).toBe('densenet-small');
    // Only the image enters NCHW and the two NHWC outputs (det_raw, seg_mask) leave it.
    expect(report.ops.Transpose).toBe(3);
    expect(report.stats.foldedBatchNorms).toBeGreaterThan(20);
  });

  it('stores block specs that rebuild the same blocks through the registry', async () => {
    const specs = (await verifyModelBytes(report.bytes)).metadata.blocks;
    const originals = [blocks.encoder, blocks.cls, blocks.det, blocks.seg, gate];
    specs.forEach((spec, i) => {
      const rebuilt = deserializeBlock(spec);
      expect(rebuilt.className).toBe(originals[i]!.className);
      expect(rebuilt.config).toEqual(originals[i]!.config);
      expect(rebuilt.countParams()).toBe(originals[i]!.countParams());
      rebuilt.dispose();
    });
  });

  it.each(['node', 'web'] as const)('matches tfjs on random and real images (%s)', async (backend) => {
    const x = inputs();
    const B = x.shape[0];
    const ref = referenceForward(blocks, x);
    const gateRef = tf.tidy(() => tf.sigmoid(gate.apply(blocks.encoder.apply(x))).dataSync());
    const model = await loadModel(report.bytes, { backend });
    const out = await runModel(model, { image: { data: x.dataSync() as Float32Array, dims: x.shape.slice() } });
    expect(maxAbsDiff(ref.clsProbs.dataSync(), out.cls_probs!.data)).toBeLessThan(TOL);
    expect(maxAbsDiff(gateRef, out.gate_prob!.data)).toBeLessThan(TOL);
    expect(maxAbsDiff(ref.detRaw.dataSync(), out.det_raw!.data)).toBeLessThan(TOL);
    expect(maxAbsDiff(ref.segProbs.dataSync(), out.seg_mask!.data)).toBeLessThan(TOL);
    const all = { scoreThreshold: 0.2, nmsIoU: 0.5, maxDetections: 10 };
    const expected = decodeDetections(ref.detRaw, blocks.det.config, all);
    const n = out.det_scores!.dims[1]!;
    let total = 0;
    for (let b = 0; b < B; b++) {
      const got = selectBoxes(
        out.det_boxes!.data.subarray(b * n * 4, (b + 1) * n * 4),
        out.det_scores!.data.subarray(b * n, (b + 1) * n),
        all,
      );
      expect(got.length).toBe(expected[b]!.length);
      got.forEach((box, i) => {
        expect(Math.abs(box.score - expected[b]![i]!.score)).toBeLessThan(TOL);
        expect(Math.abs(box.x - expected[b]![i]!.x)).toBeLessThan(1e-3);
        expect(Math.abs(box.height - expected[b]![i]!.height)).toBeLessThan(1e-3);
      });
      total += got.length;
    }
    expect(total).toBeGreaterThan(0);
    await model.dispose();
    tf.dispose([x, ref.clsProbs, ref.detRaw, ref.segProbs, ...Object.values(ref.features)]);
  });

  it('gates the pipeline with the dedicated gate head', async () => {
    const models = await exportPipeline(withGateHead(blocks.model, gate), { preprocessing: { size: SIZE } });
    const pipe = await createPipeline({
      model: { stage1: models.stage1, stage2: models.stage2 },
      gate: { threshold: 0 },
    });
    expect(pipe.metadata.gate).toEqual({ source: 'output', output: 'gate_prob', threshold: 0.5 });
    const image = { width: 200, height: 150, data: new Uint8Array(200 * 150).map((_, i) => (i * 7) % 251) };
    const [r] = await pipe.runBatch([image]);
    const x = tf.tensor4d(preprocessImage({ ...image, maxValue: 255 }, { size: SIZE }).input, [1, SIZE, SIZE, 1]);
    const expected = tf.tidy(() => tf.sigmoid(gate.apply(blocks.encoder.apply(x))).dataSync()[0]!);
    expect(Math.abs(r!.gate.probability - expected)).toBeLessThan(TOL);
    expect(r!.gate.positive).toBe(true);
    expect(r!.mask).not.toBeNull();
    x.dispose();
    await pipe.dispose();
  });
});
