import { CHESTXRAY14_CLASSES, createRng, initBackend, tf } from '@multichexnet/core';
import { preprocessImage } from '@multichexnet/data/decode';
import { renderOverlayPng } from '@multichexnet/runtime';
import { renderFilm, renderNonChest } from '@multichexnet/synth';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { fitOodStatistics, oodScore, pooledFeatures } from '@multichexnet/trainer';
// Tests build a real (tiny, untrained) model from the project's blocks; src/ never imports the encoder.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createEncoder } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createDetHead } from '@multichexnet/head-det';
import { createSegHead } from '@multichexnet/head-seg';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { exportPipeline, writePipelineFiles } from '@multichexnet/export';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createMultiCheXNet } from '@multichexnet/model';

/** Input side of the test model (small: CI runs it on 2 cores). */
export const TEST_MODEL_SIZE = 64;

/**
 * Writes a gated pipeline (densenet-tiny + cls + det + seg, seeded, untrained) to `dir`. The gate threshold is 0
 * so every image reaches det/seg and the results carry boxes and masks.
 */
export async function writeTestModel(dir: string, seed = 5): Promise<{ stage1: string; stage2: string | null }> {
  await initBackend('cpu');
  const encoder = createEncoder({ preset: 'densenet-tiny', seed });
  const featureChannels = encoder.featureChannels;
  const cls = createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels, hidden: 16, seed: seed + 1 });
  const det = createDetHead({
    featureChannels,
    hiddenChannels: 16,
    seed: seed + 2,
    priorProbability: 0.3,
    decode: { scoreThreshold: 0.2 },
  });
  const seg = createSegHead({ featureChannels, decoderChannels: 8, seed: seed + 3 });
  const model = createMultiCheXNet({ encoder, heads: { cls, det, seg } });
  try {
    const models = await exportPipeline(model, {
      preprocessing: { size: TEST_MODEL_SIZE },
      gate: { source: 'cls', classes: ['Pneumonia', 'Pneumothorax'], threshold: 0 },
    });
    return await writePipelineFiles(dir, models);
  } finally {
    model.dispose();
  }
}

/**
 * Writes a gated pipeline (densenet-tiny + CheXCls without hidden layer + CheXDet, seeded, untrained) exported with
 * class activation maps, OOD statistics fitted on 24 synthetic frontal films (threshold above every one of them and
 * 12 more) and temperatures, to `dir`; Pneumonia's recorded threshold is 0 so every image has a finding with a map.
 * Returns a frontal film and a page of text, as PNG bytes.
 */
export async function writeOodTestModel(dir: string, seed = 11): Promise<{ film: Uint8Array; text: Uint8Array }> {
  await initBackend('cpu');
  const size = TEST_MODEL_SIZE;
  const encoder = createEncoder({ preset: 'densenet-tiny', seed });
  const featureChannels = encoder.featureChannels;
  const cls = createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels, seed: seed + 1 });
  const det = createDetHead({ featureChannels, hiddenChannels: 8, seed: seed + 2 });
  const model = createMultiCheXNet({ encoder, heads: { cls, det } });
  const gray = (f: { width: number; height: number; pixels: Uint8Array }) => ({
    width: f.width,
    height: f.height,
    data: f.pixels,
    maxValue: 255,
  });
  const film = (s: number) =>
    gray(renderFilm({ size: 128, view: 'PA', sex: s % 2 ? 'F' : 'M', findings: [] }, createRng(s)));
  const rows = (images: ReturnType<typeof film>[]) =>
    tf.tidy(() => {
      const x = tf.stack(
        images.map((im) => tf.tensor3d(preprocessImage(im, { size }).input, [size, size, 1])),
      ) as tf.Tensor4D;
      const pooled = pooledFeatures(encoder.apply(x), ['c4', 'c5']);
      const D = pooled.shape[1];
      const data = pooled.dataSync() as Float32Array;
      return images.map((_, i) => data.slice(i * D, (i + 1) * D));
    });
  try {
    const statistics = fitOodStatistics(rows(Array.from({ length: 24 }, (_, i) => film(i))), ['c4', 'c5'], {
      components: 4,
    });
    const held = rows(Array.from({ length: 12 }, (_, i) => film(100 + i))).map((r) => oodScore(r, statistics));
    const threshold = 1.5 * Math.max(...held);
    const models = await exportPipeline(model, {
      preprocessing: { size },
      cam: true,
      decode: { cls: { thresholds: { Pneumonia: 0 } } },
      gate: { source: 'cls', classes: ['Pneumonia'], threshold: 0 },
      ood: { statistics, threshold, targetFalseRefusal: 0.05, thresholdFilms: held.length },
      temperature: {
        split: 'val',
        tasks: { cls: { temperature: { Pneumonia: 1.5 }, samples: 100 }, det: { temperature: 1.2, samples: 40 } },
      },
    });
    await writePipelineFiles(dir, models);
    const png = (g: ReturnType<typeof film>) =>
      renderOverlayPng({ width: g.width, height: g.height, data: g.data }, { boxes: [], mask: null });
    return { film: png(film(999)), text: png(gray(renderNonChest('text', 128, createRng(3)))) };
  } finally {
    model.dispose();
  }
}
