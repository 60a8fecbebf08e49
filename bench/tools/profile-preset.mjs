#!/usr/bin/env node
// Per-kernel time of one training step of the default MultiCheXNet preset (encoder + cls/det/seg heads) on wasm:
//   node bench/tools/profile-preset.mjs [--size 256] [--batch 16] [--steps 2] [--by-shape]
import { performance } from 'node:perf_hooks';
import { importBuilt, kernelRows, timeKernels, toolArgs } from '../lib/tool-setup.mjs';

const { opt, has } = toolArgs();
const size = Number(opt('size', '256'));
const batch = Number(opt('batch', '16'));
const steps = Number(opt('steps', '2'));
const byShape = has('by-shape');
const core = await importBuilt('core');
const { createEncoder } = await importBuilt('core-encoder');
const { createClsHead } = await importBuilt('head-cls');
const { createDetHead } = await importBuilt('head-det');
const { createSegHead } = await importBuilt('head-seg');
const { tf } = core;
const info = await core.initBackend('wasm');

// --by-shape: convolutions split by their input shapes and strides.
const keyOf = (k, a) =>
  byShape && /^(Conv2DBackprop|FusedConv2D|Conv2D$)/.test(k.kernelName)
    ? `${k.kernelName} ${JSON.stringify(
        Object.values(a.inputs)
          .filter(Boolean)
          .map((t) => t.shape),
      )} s${JSON.stringify(a.attrs.strides)}`
    : k.kernelName;
const totals = timeKernels(tf, { keyOf });

const encoder = createEncoder({ seed: 1 });
const featureChannels = encoder.featureChannels;
const cls = createClsHead({ classes: [...core.CHESTXRAY14_CLASSES], featureChannels, seed: 2 });
const det = createDetHead({ featureChannels, seed: 3 });
const seg = createSegHead({ featureChannels, seed: 4 });
const vars = [encoder, cls, det, seg].flatMap((b) => b.trainableWeights.map((w) => w.read()));
const opt2 = tf.train.adam(1e-3);
const x = tf.randomNormal([batch, size, size, 1], 0, 1, 'float32', 9);
const labels = tf.zeros([batch, 14]);
const detT = det.encodeTargets(
  Array.from({ length: batch }, (_, i) => (i % 2 ? [] : [{ x: 40, y: 50, width: 60, height: 70 }])),
  size,
);
const masks = tf.tidy(() =>
  tf.cast(tf.greater(tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 3), 0.9), 'float32'),
);
const step = () => {
  const l = opt2.minimize(
    () => {
      const f = encoder.apply(x, { training: true });
      return tf.addN([
        cls.loss(labels, cls.apply(f, { training: true })),
        det.loss(detT, det.apply(f, { training: true })),
        seg.loss(masks, seg.apply(f, { training: true })),
      ]);
    },
    true,
    vars,
  );
  l.dataSync();
  l.dispose();
};
step();
totals.clear();
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const stepMs = (performance.now() - t0) / steps;
const { rows, kernelMs } = kernelRows(totals, steps);
process.stdout.write(
  `preset ${size} px batch ${batch}, threads=${info.threads}: ${stepMs.toFixed(0)} ms/step, kernels ${kernelMs.toFixed(0)} ms, other ${(stepMs - kernelMs).toFixed(0)} ms\n`,
);
for (const [k, ms, calls] of rows)
  if (ms >= (byShape ? 20 : 0.5))
    process.stdout.write(`  ${k.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms  ${String(calls).padStart(5)} calls\n`);
