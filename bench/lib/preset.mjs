// The default MultiCheXNet preset as a training step for the benchmark: the model of @multichexnet/trainer's `full`
// plan size (CheXEnc with CheXCls, CheXDet and CheXSeg as the trainer builds them, through its public builtinPlan +
// @multichexnet/model's buildModel), loss = sum of the three heads' losses on random but fixed targets, Adam. Built
// from the BUILT packages. Used by bench/sections/multichexnet-preset.mjs and its child.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const PRESET_PACKAGES = ['core', 'head-det', 'model', 'trainer'];

export async function importPresetPackages(repoRoot) {
  const load = (p) => import(pathToFileURL(join(repoRoot, 'packages', p, 'dist', 'index.js')).href);
  const [core, det, model, trainer] = await Promise.all(PRESET_PACKAGES.map(load));
  return {
    core,
    disposeDetTargets: det.disposeDetTargets,
    builtinPlan: trainer.builtinPlan,
    buildModel: model.buildModel,
    ModelConfigSchema: model.ModelConfigSchema,
  };
}

/** Random but fixed targets for the three heads (a box or none per image, a disc mask or none per image). */
function randomTargets(tf, det, rng, size, batch) {
  const labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([batch, 14], 0, 1, 'float32', 11), 0.8), 'float32'));
  const boxes = Array.from({ length: batch }, () => {
    if (rng() < 0.4) return [];
    const w = (30 + rng() * 80) * (size / 256);
    const h = (30 + rng() * 80) * (size / 256);
    return [{ x: rng() * (size - w), y: rng() * (size - h), width: w, height: h }];
  });
  const detTargets = det.encodeTargets(boxes, size);
  const mask = new Float32Array(batch * size * size);
  for (let b = 0; b < batch; b++) {
    if (rng() < 0.5) continue;
    const cx = size * (0.15 + rng() * 0.7);
    const cy = size * (0.15 + rng() * 0.7);
    const r = size * (0.04 + rng() * 0.12);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) mask[(b * size + y) * size + x] = 1;
  }
  return { labels, detTargets, masks: tf.tensor4d(mask, [batch, size, size, 1]) };
}

/** Builds the preset and returns { step(): loss, dispose(), encoder, params }. */
export function presetTrainer(pkgs, { batch = 16 } = {}) {
  const { core, builtinPlan, buildModel, ModelConfigSchema, disposeDetTargets } = pkgs;
  const { tf } = core;
  const r = core.createRng(5);
  const rng = () => r.next();
  // the trainer's default (`full`) model without its gate: the gate is a cls threshold or a small extra head and is
  // not part of the three-task step measured here
  const plan = builtinPlan('multichexnet-joint', { size: 'full', seed: 1 });
  const size = plan.imageSize;
  const built = buildModel(ModelConfigSchema.parse({ ...plan.model, gate: undefined }), 1);
  const { encoder } = built;
  const { cls, det, seg } = built.heads;
  const blocks = { encoder, cls, det, seg };
  const params = Object.fromEntries(Object.entries(blocks).map(([k, b]) => [k, b.countParams?.() ?? null]));
  const vars = Object.values(blocks).flatMap((b) => b.trainableWeights.map((w) => w.read()));
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, size, size, 1], 0, 1, 'float32', 9);
  const targets = randomTargets(tf, det, rng, size, batch);
  return {
    encoder,
    size,
    heads: { cls: cls.config, det: det.config, seg: seg.config },
    params,
    step() {
      const total = optimizer.minimize(
        () => {
          const f = encoder.apply(x, { training: true });
          const lc = cls.loss(targets.labels, cls.apply(f, { training: true }));
          const ld = det.loss(targets.detTargets, det.apply(f, { training: true }));
          const ls = seg.loss(targets.masks, seg.apply(f, { training: true }));
          return tf.addN([lc, ld, ls]);
        },
        true,
        vars,
      );
      const v = total.dataSync()[0];
      total.dispose();
      return v;
    },
    dispose() {
      tf.dispose([x, targets.labels, targets.masks]);
      disposeDetTargets(targets.detTargets);
      optimizer.dispose();
      built.dispose();
    },
  };
}
