import { CHESTXRAY14_CLASSES, initBackend } from '@multichexnet/core';
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
  const det = createDetHead({ featureChannels, hiddenChannels: 16, seed: seed + 2, priorProbability: 0.3, decode: { scoreThreshold: 0.2 } });
  const seg = createSegHead({ featureChannels, decoderChannels: 8, seed: seed + 3 });
  const model = createMultiCheXNet({ encoder, heads: { cls, det, seg } });
  try {
    const models = await exportPipeline(
      model,
      { preprocessing: { size: TEST_MODEL_SIZE }, gate: { source: 'cls', classes: ['Pneumonia', 'Pneumothorax'], threshold: 0 } },
    );
    return await writePipelineFiles(dir, models);
  } finally {
    model.dispose();
  }
}
