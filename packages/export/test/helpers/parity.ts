import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, tf } from '@multichexnet/core';
import { maxAbsDiff } from '@multichexnet/core/testing';
import { loadModel, runModel, type OrtBackend, type TensorData } from '@multichexnet/runtime';
import { exportOnnx, type ExportOnnxOptions } from '../../src/index';

/**
 * Gives every BatchNorm non-trivial statistics and every bias non-zero values (seeded), so folding, biases and
 * BatchNorm are all exercised by a parity check; freshly built layers have identity BatchNorms and zero biases.
 */
export function randomizeStatistics(model: tf.LayersModel, seed: number): void {
  const rng = createRng(seed);
  for (const layer of allLayers(model)) {
    for (const v of layer.weights) {
      const name = v.name.replace(/_\d+$/, '');
      const shape = v.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      let values: number[] | null = null;
      if (name.endsWith('moving_variance')) values = Array.from({ length: n }, () => rng.uniform(0.3, 2));
      else if (name.endsWith('moving_mean') || name.endsWith('beta') || name.endsWith('bias'))
        values = Array.from({ length: n }, () => rng.normal(0, 0.5));
      else if (name.endsWith('gamma')) values = Array.from({ length: n }, () => rng.uniform(0.5, 1.5));
      if (values !== null) {
        const t = tf.tensor(values, shape);
        v.write(t);
        t.dispose();
      }
    }
  }
}

function allLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.flatMap((l) => (l instanceof tf.LayersModel ? [l, ...allLayers(l)] : [l]));
}

// Shared with every package's tests (core/testing); re-exported for this package's parity tests.
export { maxAbsDiff };

/** Seeded normal input. */
export function randomInput(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** tfjs reference outputs (post-processing applied like the export options ask), as plain arrays. */
export function referenceOutputs(
  model: tf.LayersModel,
  inputs: tf.Tensor[],
  options: ExportOnnxOptions,
): Float32Array[] {
  return tf.tidy(() => {
    const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(out) ? out : [out];
    return list.map((t, i) => {
      const act = options.outputs?.[i]?.activation ?? 'none';
      const post = act === 'sigmoid' ? tf.sigmoid(t) : act === 'softmax' ? tf.softmax(t) : t;
      return post.dataSync() as Float32Array;
    });
  });
}

/** Exports, loads on `backend`, runs, and returns the max abs difference to tfjs per output. */
export async function checkParity(
  model: tf.LayersModel,
  inputs: tf.Tensor[],
  options: ExportOnnxOptions = {},
  backends: OrtBackend[] = ['node'],
): Promise<{
  bytes: Uint8Array;
  diffs: Record<OrtBackend, number[]>;
  outputs: Record<OrtBackend, Record<string, TensorData>>;
}> {
  const bytes = await exportOnnx(model, options);
  const ref = referenceOutputs(model, inputs, options);
  const diffs = {} as Record<OrtBackend, number[]>;
  const outputs = {} as Record<OrtBackend, Record<string, TensorData>>;
  for (const backend of backends) {
    const loaded = await loadModel(bytes, { backend });
    try {
      const feeds: Record<string, TensorData> = {};
      loaded.metadata.inputs.forEach((spec, i) => {
        feeds[spec.name] = { data: inputs[i]!.dataSync() as Float32Array, dims: inputs[i]!.shape.slice() };
      });
      const out = await runModel(loaded, feeds);
      outputs[backend] = out;
      diffs[backend] = ref.map((r, i) => maxAbsDiff(r, out[loaded.metadata.outputs[i]!.name]!.data));
    } finally {
      await loaded.dispose();
    }
  }
  return { bytes, diffs, outputs };
}

const DEBIAN_PYTHON = '/usr/bin/python3';

/** Whether Debian's python with the `onnx` package is here (the independent validity check). */
export function onnxCheckerAvailable(): boolean {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Runs `onnx.checker.check_model(full_check=True)` (with shape inference) on bytes; returns stderr on failure. */
export function runOnnxChecker(bytes: Uint8Array): { ok: boolean; message: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mcx-onnx-'));
  try {
    const file = join(dir, 'model.onnx');
    writeFileSync(file, bytes);
    const r = spawnSync(
      DEBIAN_PYTHON,
      [
        '-c',
        'import onnx, sys\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nprint("ok", m.opset_import[0].version)',
        file,
      ],
      { encoding: 'utf8' },
    );
    return { ok: r.status === 0, message: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
