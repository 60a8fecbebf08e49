import { beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, DataError, initBackend, tf } from '@multichexnet/core';
import { decodeModelProto, loadModel, runModel } from '@multichexnet/runtime';
import { exportOnnx, exportOnnxWithReport, supportedLayerClasses } from '../src/index';
import { checkParity, onnxCheckerAvailable, randomInput, randomizeStatistics, runOnnxChecker } from './helpers/parity';

const TOL = 1e-4;
type Sym = tf.SymbolicTensor;
const L = tf.layers;

beforeAll(async () => {
  await initBackend('cpu');
});

/** One-input test model: `build` maps the input to one or more outputs. */
function model(shape: number[], build: (x: Sym) => Sym | Sym[], seed = 7): tf.LayersModel {
  const x = tf.input({ shape });
  const out = build(x);
  const m = tf.model({ inputs: x, outputs: out });
  randomizeStatistics(m, seed);
  return m;
}

const ap = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** Every layer of the vocabulary, in the configurations the blocks use and the awkward ones. */
const CASES: { name: string; shape: number[]; build: (x: Sym) => Sym | Sym[] }[] = [
  {
    name: 'Conv2D same stride 1',
    shape: [9, 9, 3],
    build: (x) => ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x),
  },
  {
    name: 'Conv2D same stride 2, odd size (asymmetric pad)',
    shape: [15, 13, 2],
    build: (x) => ap(L.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same' }), x),
  },
  {
    name: 'Conv2D 7x7 stride 2 same, even size',
    shape: [16, 16, 1],
    build: (x) => ap(L.conv2d({ filters: 4, kernelSize: 7, strides: 2, padding: 'same' }), x),
  },
  {
    name: 'Conv2D valid, rectangular kernel and stride',
    shape: [12, 11, 3],
    build: (x) => ap(L.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'valid' }), x),
  },
  {
    name: 'Conv2D dilation 2',
    shape: [12, 12, 2],
    build: (x) => ap(L.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' }), x),
  },
  {
    name: 'Conv2D no bias, relu activation',
    shape: [8, 8, 3],
    build: (x) => ap(L.conv2d({ filters: 4, kernelSize: 1, useBias: false, activation: 'relu' }), x),
  },
  {
    name: 'Conv2D sigmoid activation',
    shape: [8, 8, 3],
    build: (x) => ap(L.conv2d({ filters: 2, kernelSize: 3, activation: 'sigmoid' }), x),
  },
  {
    name: 'Conv2DTranspose k3 s2 same',
    shape: [5, 6, 3],
    build: (x) => ap(L.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), x),
  },
  {
    name: 'Conv2DTranspose k4 s2 same',
    shape: [5, 5, 3],
    build: (x) => ap(L.conv2dTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'same' }), x),
  },
  {
    name: 'Conv2DTranspose k2 s2 valid',
    shape: [4, 5, 3],
    build: (x) => ap(L.conv2dTranspose({ filters: 3, kernelSize: 2, strides: 2, padding: 'valid' }), x),
  },
  {
    name: 'Conv2DTranspose k1 s2 same (kernel < stride)',
    shape: [4, 4, 2],
    build: (x) => ap(L.conv2dTranspose({ filters: 3, kernelSize: 1, strides: 2, padding: 'same' }), x),
  },
  {
    name: 'Conv2DTranspose k3 s1 valid, no bias',
    shape: [6, 6, 2],
    build: (x) => ap(L.conv2dTranspose({ filters: 3, kernelSize: 3, padding: 'valid', useBias: false }), x),
  },
  { name: 'Dense on [B, C]', shape: [6], build: (x) => ap(L.dense({ units: 5, activation: 'relu' }), x) },
  { name: 'Dense on [B, H, W, C] (last axis)', shape: [4, 3, 5], build: (x) => ap(L.dense({ units: 2 }), x) },
  {
    name: 'BatchNorm folded into Conv2D, then ReLU',
    shape: [10, 10, 3],
    build: (x) =>
      ap(
        L.reLU(),
        ap(L.batchNormalization({}), ap(L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }), x)),
      ),
  },
  {
    name: 'BatchNorm folded into Conv2DTranspose',
    shape: [5, 5, 3],
    build: (x) =>
      ap(
        L.batchNormalization({}),
        ap(L.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), x),
      ),
  },
  {
    name: 'BatchNorm folded into Dense',
    shape: [7],
    build: (x) => ap(L.batchNormalization({}), ap(L.dense({ units: 3 }), x)),
  },
  {
    name: 'BatchNorm standalone (pre-activation, DenseNet order)',
    shape: [8, 8, 4],
    build: (x) =>
      ap(L.conv2d({ filters: 3, kernelSize: 1 }), ap(L.reLU(), ap(L.batchNormalization({ epsilon: 1e-5 }), x))),
  },
  { name: 'BatchNorm on [B, C]', shape: [5], build: (x) => ap(L.batchNormalization({ center: false }), x) },
  {
    name: 'BatchNorm on [B, T, C] (Mul + Add)',
    shape: [4, 3],
    build: (x) => ap(L.batchNormalization({ scale: false }), x),
  },
  {
    name: "core's batchNorm() and fused BatchNormReLU folded into Conv2D",
    shape: [9, 9, 3],
    build: (x) =>
      ap(
        batchNorm({ relu: true }),
        ap(
          batchNorm({ epsilon: 1e-5 }),
          ap(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x),
        ),
      ),
  },
  {
    name: "core's fused BatchNormReLU standalone (DenseNet pre-activation) and on [B, C]",
    shape: [6, 6, 4],
    build: (x) => [
      ap(L.conv2d({ filters: 2, kernelSize: 1 }), ap(batchNorm({ relu: true }), x)),
      ap(batchNorm({ relu: true }), ap(L.globalAveragePooling2d({}), x)),
    ],
  },
  {
    name: 'BatchNorm not folded when the conv output is read twice',
    shape: [8, 8, 2],
    build: (x) => {
      const c = ap(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x);
      return [ap(L.batchNormalization({}), c), c];
    },
  },
  {
    name: 'Activation layers: relu, sigmoid, linear, tanh, softmax (channels)',
    shape: [4, 4, 5],
    build: (x) => [
      ap(L.activation({ activation: 'relu' }), x),
      ap(L.activation({ activation: 'sigmoid' }), x),
      ap(L.activation({ activation: 'linear' }), x),
      ap(L.activation({ activation: 'tanh' }), x),
      ap(L.activation({ activation: 'softmax' }), ap(L.conv2d({ filters: 3, kernelSize: 1 }), x)),
    ],
  },
  { name: 'Softmax over [B, K]', shape: [6], build: (x) => ap(L.activation({ activation: 'softmax' }), x) },
  { name: 'ReLU with maxValue (ReLU6)', shape: [4, 4, 2], build: (x) => ap(L.reLU({ maxValue: 0.5 }), x) },
  {
    name: 'MaxPooling2D 3x3 s2 same, odd size',
    shape: [9, 11, 3],
    build: (x) => ap(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x),
  },
  { name: 'MaxPooling2D 2x2 valid', shape: [9, 8, 2], build: (x) => ap(L.maxPooling2d({ poolSize: 2 }), x) },
  {
    name: 'AveragePooling2D 2x2 s2 valid (DenseNet transition)',
    shape: [8, 10, 3],
    build: (x) => ap(L.averagePooling2d({ poolSize: 2, strides: 2 }), x),
  },
  {
    name: 'AveragePooling2D 3x3 s1 same (padding not counted)',
    shape: [5, 6, 2],
    build: (x) => ap(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), x),
  },
  { name: 'GlobalAveragePooling2D', shape: [5, 7, 4], build: (x) => ap(L.globalAveragePooling2d({}), x) },
  { name: 'GlobalMaxPooling2D', shape: [5, 7, 4], build: (x) => ap(L.globalMaxPooling2d({}), x) },
  {
    name: 'Concatenate on channels (DenseNet growth)',
    shape: [6, 6, 3],
    build: (x) =>
      ap(L.concatenate({ axis: -1 }), [
        x,
        ap(L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }), x),
        ap(L.reLU(), x),
      ]),
  },
  {
    name: 'Concatenate on height',
    shape: [3, 4, 2],
    build: (x) => ap(L.concatenate({ axis: 1 }), [x, ap(L.reLU(), x)]),
  },
  { name: 'Concatenate on [B, C]', shape: [3], build: (x) => ap(L.concatenate({}), [x, ap(L.dense({ units: 2 }), x)]) },
  {
    name: 'Add, three inputs',
    shape: [5, 5, 3],
    build: (x) => ap(L.add(), [x, ap(L.conv2d({ filters: 3, kernelSize: 1 }), x), ap(L.reLU(), x)]),
  },
  {
    name: 'Multiply with [B, 1, 1, C] broadcast (attention gate)',
    shape: [6, 6, 4],
    build: (x) => {
      const g = ap(
        L.reshape({ targetShape: [1, 1, 4] }),
        ap(L.dense({ units: 4, activation: 'sigmoid' }), ap(L.globalAveragePooling2d({}), x)),
      );
      return ap(L.multiply(), [x, g]);
    },
  },
  { name: 'UpSampling2D nearest x2', shape: [4, 5, 3], build: (x) => ap(L.upSampling2d({ size: [2, 2] }), x) },
  { name: 'UpSampling2D nearest x3 by x2', shape: [3, 4, 2], build: (x) => ap(L.upSampling2d({ size: [3, 2] }), x) },
  {
    name: 'UpSampling2D bilinear x2',
    shape: [4, 5, 3],
    build: (x) => ap(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), x),
  },
  {
    name: 'UpSampling2D bilinear x3',
    shape: [3, 3, 2],
    build: (x) => ap(L.upSampling2d({ size: [3, 3], interpolation: 'bilinear' }), x),
  },
  {
    name: 'UpSampling2D bilinear x4 by x2',
    shape: [3, 5, 1],
    build: (x) => ap(L.upSampling2d({ size: [4, 2], interpolation: 'bilinear' }), x),
  },
  {
    name: 'ZeroPadding2D asymmetric',
    shape: [4, 5, 2],
    build: (x) =>
      ap(
        L.conv2d({ filters: 2, kernelSize: 3 }),
        ap(
          L.zeroPadding2d({
            padding: [
              [1, 2],
              [0, 3],
            ],
          }),
          x,
        ),
      ),
  },
  {
    name: 'Dropout is the identity at inference',
    shape: [4, 4, 2],
    build: (x) => ap(L.conv2d({ filters: 2, kernelSize: 1 }), ap(L.dropout({ rate: 0.5 }), x)),
  },
  {
    name: 'Reshape NHWC -> [B, N, K] (det-style)',
    shape: [4, 4, 6],
    build: (x) => ap(L.reshape({ targetShape: [16, 2, 3] }), ap(L.conv2d({ filters: 6, kernelSize: 1 }), x)),
  },
  {
    name: 'Reshape then conv (back to 4-D)',
    shape: [4, 4, 6],
    build: (x) =>
      ap(
        L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }),
        ap(L.reshape({ targetShape: [8, 4, 3] }), ap(L.reLU(), x)),
      ),
  },
  {
    name: 'Flatten (H, W, C order) + Dense',
    shape: [3, 4, 5],
    build: (x) => ap(L.dense({ units: 3 }), ap(L.flatten(), ap(L.conv2d({ filters: 5, kernelSize: 1 }), x))),
  },
];

describe('exportOnnx: every layer of the vocabulary matches tfjs', () => {
  it.each(CASES)('$name', async ({ shape, build }) => {
    const m = model(shape, build);
    const input = randomInput([2, ...shape], 11);
    const { diffs } = await checkParity(m, [input], {}, ['node', 'web']);
    for (const d of [...diffs.node, ...diffs.web]) expect(d).toBeLessThan(TOL);
    input.dispose();
    m.dispose();
  });
});

describe('exportOnnx: graph structure', () => {
  it('folds BatchNorm into the conv before it and transposes only at the edges', async () => {
    const m = model([12, 12, 1], (x) => {
      let h = ap(
        L.reLU(),
        ap(L.batchNormalization({}), ap(L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }), x)),
      );
      h = ap(
        L.reLU(),
        ap(L.batchNormalization({}), ap(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }), h)),
      );
      return h;
    });
    const report = await exportOnnxWithReport(m);
    expect(report.stats.foldedBatchNorms).toBe(2);
    expect(report.ops.BatchNormalization ?? 0).toBe(0);
    expect(report.ops.Conv).toBe(2);
    // image NHWC -> NCHW once at the start, NCHW -> NHWC once at the output.
    expect(report.ops.Transpose).toBe(2);
    const proto = decodeModelProto(report.bytes);
    expect(proto.graph.input.map((i) => i.name)).toEqual(['image']);
    expect(proto.opsetImport).toEqual([{ domain: '', version: 17 }]);
    m.dispose();
  });

  it('keeps BatchNorm as BatchNormalization when folding is off, with the same outputs', async () => {
    const m = model([8, 8, 2], (x) => ap(L.batchNormalization({}), ap(L.conv2d({ filters: 4, kernelSize: 3 }), x)));
    const report = await exportOnnxWithReport(m, { foldBatchNorm: false });
    expect(report.ops.BatchNormalization).toBe(1);
    const input = randomInput([1, 8, 8, 2], 3);
    const a = await checkParity(m, [input], { foldBatchNorm: false });
    const b = await checkParity(m, [input], { foldBatchNorm: true });
    expect(a.diffs.node[0]).toBeLessThan(TOL);
    expect(b.diffs.node[0]).toBeLessThan(TOL);
    input.dispose();
    m.dispose();
  });

  it('inlines nested models, a nested model called twice (shared weights) and one with several outputs', async () => {
    const inner = model(
      [8, 8, 3],
      (x) =>
        ap(L.reLU(), ap(L.batchNormalization({}), ap(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x))),
      1,
    );
    const pyramid = model(
      [8, 8, 3],
      (x) => {
        const a = ap(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), x);
        const b = ap(L.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same' }), a);
        return [a, b];
      },
      2,
    );
    const x = tf.input({ shape: [8, 8, 3] });
    const twice = inner.apply(inner.apply(x) as Sym) as Sym;
    const [a, b] = pyramid.apply(twice) as Sym[];
    const head = ap(
      L.dense({ units: 2 }),
      ap(L.concatenate({}), [ap(L.globalAveragePooling2d({}), a!), ap(L.globalAveragePooling2d({}), b!)]),
    );
    const outer = tf.model({ inputs: x, outputs: [head, b!] });
    const input = randomInput([3, 8, 8, 3], 5);
    const { diffs } = await checkParity(
      outer,
      [input],
      {
        outputs: [
          { name: 'cls_probs', activation: 'sigmoid' },
          { name: 'feat', layout: 'NCHW' },
        ],
      },
      ['node'],
    );
    // feat is compared in tfjs' NHWC order, so compare NCHW separately below; cls_probs must match.
    expect(diffs.node[0]).toBeLessThan(TOL);
    const report = await exportOnnxWithReport(outer);
    expect(report.stats.layers).toBeGreaterThan(10);
    expect(report.ops.Conv).toBe(4); // inner twice + two pyramid convs
    input.dispose();
    outer.dispose();
  });

  it('writes NCHW outputs and takes NCHW inputs when asked', async () => {
    const m = model([6, 5, 3], (x) => ap(L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }), x));
    const input = randomInput([2, 6, 5, 3], 9);
    const ref = (m.predict(input) as tf.Tensor).transpose([0, 3, 1, 2]);
    const nchwIn = input.transpose([0, 3, 1, 2]);
    const bytes = await exportOnnx(m, {
      inputs: [{ name: 'x', layout: 'NCHW' }],
      outputs: [{ name: 'y', layout: 'NCHW' }],
    });
    const loaded = await loadModel(bytes);
    expect(loaded.metadata.inputs[0]).toMatchObject({ name: 'x', layout: 'NCHW', shape: [null, 3, 6, 5] });
    expect(loaded.metadata.outputs[0]).toMatchObject({ name: 'y', layout: 'NCHW', shape: [null, 2, 6, 5] });
    const out = await runModel(loaded, { x: { data: nchwIn.dataSync() as Float32Array, dims: nchwIn.shape } });
    expect(out.y!.dims).toEqual([2, 2, 6, 5]);
    const { maxAbsDiff } = await import('./helpers/parity');
    expect(maxAbsDiff(ref.dataSync(), out.y!.data)).toBeLessThan(TOL);
    await loaded.dispose();
    tf.dispose([ref, nchwIn, input]);
    m.dispose();
  });

  it('propagates NaN like tfjs', async () => {
    const m = model([4, 4, 1], (x) => ap(L.conv2d({ filters: 1, kernelSize: 1 }), x));
    const input = tf.tensor4d([NaN, ...new Array(15).fill(1)], [1, 4, 4, 1]);
    const { outputs } = await checkParity(m, [input]);
    const y = outputs.node.output_0!.data;
    expect(Number.isNaN(y[0]!)).toBe(true);
    expect(Number.isFinite(y[1]!)).toBe(true);
    input.dispose();
    m.dispose();
  });

  it('does not leak tensors', async () => {
    const m = model([8, 8, 2], (x) =>
      ap(L.reLU(), ap(L.batchNormalization({}), ap(L.conv2d({ filters: 4, kernelSize: 3 }), x))),
    );
    await exportOnnx(m); // warm-up: first calls may allocate lazily
    const before = tf.memory().numTensors;
    await exportOnnx(m);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

describe('exportOnnx: errors', () => {
  it('names the layer and its class for an unsupported layer', async () => {
    const m = model([8, 8, 2], (x) => ap(L.depthwiseConv2d({ kernelSize: 3, name: 'my_depthwise' }), x));
    await expect(exportOnnx(m)).rejects.toThrow(DataError);
    await expect(exportOnnx(m)).rejects.toThrow(/my_depthwise of class DepthwiseConv2D is not supported/);
    m.dispose();
  });

  it('names an unsupported activation', async () => {
    const m = model([4], (x) => ap(L.dense({ units: 2, activation: 'softplus', name: 'soft' }), x));
    await expect(exportOnnx(m)).rejects.toThrow(/soft \(Dense\).*softplus/);
    m.dispose();
  });

  it('refuses bad options with a ConfigError naming the field', async () => {
    const m = model([4], (x) => ap(L.dense({ units: 2 }), x));
    await expect(exportOnnx(m, { opset: 11 })).rejects.toThrow(/opset: must be >= 13/);
    await expect(exportOnnx(m, { outputs: [{ name: 'a' }, { name: 'b' }] })).rejects.toThrow(/outputs/);
    await expect(exportOnnx({} as tf.LayersModel)).rejects.toThrow(/Cannot export/);
    m.dispose();
  });

  it('lists the supported layer classes', () => {
    expect(supportedLayerClasses()).toEqual(
      expect.arrayContaining([
        'Conv2D',
        'Conv2DTranspose',
        'Dense',
        'BatchNormalization',
        'UpSampling2D',
        'ZeroPadding2D',
        'Reshape',
        'Flatten',
      ]),
    );
  });
});

describe.runIf(onnxCheckerAvailable())('exportOnnx: onnx.checker (Debian python3-onnx) accepts the files', () => {
  it('passes check_model with full shape inference for a model using every layer', async () => {
    const x = tf.input({ shape: [16, 16, 1] });
    let h = ap(L.zeroPadding2d({ padding: 1 }), x);
    h = ap(L.reLU(), ap(L.batchNormalization({}), ap(L.conv2d({ filters: 8, kernelSize: 3, strides: 2 }), h)));
    const p = ap(L.maxPooling2d({ poolSize: 2, padding: 'same' }), h);
    const q = ap(L.averagePooling2d({ poolSize: 2 }), h);
    const u = ap(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), ap(L.add(), [p, q]));
    const t = ap(
      L.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
      ap(L.multiply(), [u, h]),
    );
    const seg = ap(
      L.upSampling2d({ size: [1, 1] }),
      ap(L.concatenate({}), [t, ap(L.upSampling2d({ size: [2, 2] }), h)]),
    );
    const cls = ap(L.dense({ units: 3 }), ap(L.dropout({ rate: 0.2 }), ap(L.globalAveragePooling2d({}), h)));
    const det = ap(
      L.reshape({ targetShape: [16, 2, 4] }),
      ap(L.conv2d({ filters: 8, kernelSize: 1, activation: 'sigmoid' }), p),
    );
    const flat = ap(L.dense({ units: 2, activation: 'softmax' }), ap(L.flatten(), p));
    const m = tf.model({ inputs: x, outputs: [cls, det, seg, flat] });
    const bytes = await exportOnnx(m, {
      outputs: [
        { name: 'cls_probs', activation: 'sigmoid' },
        { name: 'det_raw' },
        { name: 'seg_mask', activation: 'sigmoid' },
        { name: 'extra' },
      ],
      metadata: { classNames: ['a', 'b', 'c'], gate: { source: 'cls', classes: ['b', 'c'], threshold: 0.5 } },
    });
    const result = runOnnxChecker(bytes);
    expect(result.message).toMatch(/^ok 17/);
    expect(result.ok).toBe(true);
    m.dispose();
  });
});
