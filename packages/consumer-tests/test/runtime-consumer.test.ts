// A user installs only @multichexnet/runtime and onnxruntime-node (runtime from its tarball; the workspace packages it
// depends on come from their tarballs too, since they are not on the registry) and runs a model exported here, by
// @multichexnet/export from the workspace packages, on onnxruntime-node. Its outputs must match tfjs on the same
// inputs, and the project must hold no tfjs, no sharp and no onnxruntime-web.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, createRng, initBackend, tf } from '@multichexnet/core';
import { createEncoder } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createSegHead } from '@multichexnet/head-seg';
import { preprocessImage } from '@multichexnet/data';
import { createMultiCheXNet } from '@multichexnet/model';
import { exportPipeline, writePipelineFiles } from '@multichexnet/export';
import {
  installedCopies,
  installedPackages,
  npmLs,
  packWorkspacePackages,
  runInConsumer,
  setUpConsumerProject,
} from './helpers/consumer-project';

const SIZE = 64;
const TOL = 1e-4;
/** runtime and the workspace packages it depends on. */
const PACKAGES = [
  '@multichexnet/runtime',
  '@multichexnet/core',
  '@multichexnet/data',
  '@multichexnet/head-cls',
  '@multichexnet/head-det',
  '@multichexnet/head-seg',
];

let work: string;
let project: string;
let modelDir: string;
let inputsFile: string;
let expected: { pipelineProbs: number[]; clsProbs: number[]; segMask: number[] };

interface ConsumerResult {
  backend: string;
  probabilities: Record<string, number>;
  gate: { probability: number; positive: boolean };
  mask: { width: number; height: number } | null;
  maskRle: string;
  clsProbs: number[];
  segMask: number[];
  segDims: number[];
  versions: Record<string, string>;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Exports encoder + cls + seg as the gated pipeline and computes the tfjs outputs the consumer must reproduce. */
async function exportModelAndReference(): Promise<void> {
  await initBackend('cpu');
  const encoder = createEncoder({ preset: 'densenet-tiny', seed: 21 });
  const { featureChannels } = encoder;
  const cls = createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels, seed: 22 });
  const seg = createSegHead({ featureChannels, decoderChannels: 8, seed: 23 });
  // Threshold 0: every image passes the gate, so stage 2 runs in the consumer as well.
  const preprocessing = { size: SIZE };
  const model = createMultiCheXNet({ encoder, heads: { cls, seg } });
  const models = await exportPipeline(model, {
    preprocessing,
    gate: { source: 'cls', classes: ['Pneumothorax'], threshold: 0 },
  });
  await writePipelineFiles(modelDir, models);

  const rng = createRng(5);
  const image = { width: 80, height: 72, data: Uint8Array.from({ length: 80 * 72 }, () => rng.int(0, 256)) };
  const tensor = { dims: [2, SIZE, SIZE, 1], data: Array.from({ length: 2 * SIZE * SIZE }, () => rng.normal()) };
  writeFileSync(inputsFile, JSON.stringify({ image: { ...image, data: Array.from(image.data) }, tensor }));

  const pre = preprocessImage({ ...image, maxValue: 255 }, preprocessing).input;
  expected = tf.tidy(() => {
    const probs = (x: tf.Tensor4D) => tf.sigmoid(cls.apply(encoder.apply(x)) as tf.Tensor);
    const x = tf.tensor4d(Float32Array.from(tensor.data), tensor.dims as [number, number, number, number]);
    return {
      pipelineProbs: Array.from(probs(tf.tensor4d(pre, [1, SIZE, SIZE, 1])).dataSync()),
      clsProbs: Array.from(probs(x).dataSync()),
      segMask: Array.from(tf.sigmoid(seg.apply(encoder.apply(x))).dataSync()),
    };
  });
  model.dispose();
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mcx-consumer-runtime-'));
  modelDir = join(work, 'model');
  inputsFile = join(work, 'inputs.json');
  await exportModelAndReference();

  const packed = packWorkspacePackages(PACKAGES, join(work, 'tarballs'));
  // The version range runtime names for its optional peer, as a user following its README gets it.
  const onnxruntimeRange = (packed.get('@multichexnet/runtime')!.manifest.peerDependencies as Record<string, string>)[
    'onnxruntime-node'
  ]!;
  const file = (name: string): string => `file:${packed.get(name)!.tarball}`;
  project = await setUpConsumerProject(
    work,
    {
      dependencies: { '@multichexnet/runtime': file('@multichexnet/runtime'), 'onnxruntime-node': onnxruntimeRange },
      overrides: Object.fromEntries(PACKAGES.filter((n) => n !== '@multichexnet/runtime').map((n) => [n, file(n)])),
    },
    'runtime',
    `runtime consumer: packed ${PACKAGES.length} packages`,
  );
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a project that installs @multichexnet/runtime and onnxruntime-node alone', () => {
  it('gets runtime, what it depends on, one core and onnxruntime-node; no tfjs, no sharp, no onnxruntime-web', async () => {
    const ours = [
      '@multichexnet/core',
      '@multichexnet/core-encoder',
      '@multichexnet/data',
      '@multichexnet/export',
      '@multichexnet/gating',
      '@multichexnet/head-cls',
      '@multichexnet/head-det',
      '@multichexnet/head-seg',
      '@multichexnet/model',
      '@multichexnet/runtime',
      '@multichexnet/trainer',
    ];
    expect(ours.filter((name) => installedCopies(project, name).length > 0)).toEqual([
      '@multichexnet/core',
      '@multichexnet/data',
      '@multichexnet/head-cls',
      '@multichexnet/head-det',
      '@multichexnet/head-seg',
      '@multichexnet/runtime',
    ]);
    for (const name of ['@multichexnet/core', 'onnxruntime-node'])
      expect(installedCopies(project, name), name).toHaveLength(1);
    expect(
      installedPackages(project).filter(
        (name) => name.startsWith('@tensorflow/') || name === 'sharp' || name === 'onnxruntime-web',
      ),
    ).toEqual([]);
    const { problems } = await npmLs(project);
    expect(problems).toEqual([]);
  });

  it('runs the exported pipeline on onnxruntime-node with the outputs of tfjs', async () => {
    const r = await runInConsumer<ConsumerResult>(project, process.execPath, [
      'run-pipeline.mjs',
      modelDir,
      inputsFile,
    ]);
    expect(r.backend).toBe('node');
    expect(Object.keys(r.probabilities)).toEqual([...CHESTXRAY14_CLASSES]);
    expect(maxAbsDiff(Object.values(r.probabilities), expected.pipelineProbs)).toBeLessThan(TOL);
    expect(maxAbsDiff(r.clsProbs, expected.clsProbs)).toBeLessThan(TOL);
    expect(r.segDims).toEqual([2, SIZE, SIZE, 1]);
    expect(maxAbsDiff(r.segMask, expected.segMask)).toBeLessThan(TOL);
    // The gate let the image through (threshold 0), so stage 2 ran and the mask is at the original image size.
    expect(r.gate.positive).toBe(true);
    expect(r.gate.probability).toBeCloseTo(r.probabilities.Pneumothorax!, 6);
    expect(r.mask).toEqual({ width: 80, height: 72 });
    expect(r.maskRle).toBe('string');
    expect(r.versions['@tensorflow/tfjs']).toBe('4.22.0');
  });
});
