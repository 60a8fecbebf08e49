// Which standard ops train on the wasm backend. Walks tfjs's gradient registry (every kernel with a registered
// gradient), runs one example of each op forward and backward, and finds the kernels its training needs that the
// wasm backend lacks. The list must equal the table in the core README (between the wasm-gradient-gaps markers),
// so the README cannot go stale: a tfjs upgrade or a new kernel here changes the list and fails this test until
// the README says so. Every op not on the list must really compute its gradients on wasm.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index';
import { kernelsRunBy } from './helpers/kernels-run';

type Example = () => { inputs: tf.Tensor[]; f: (...xs: tf.Tensor[]) => tf.Tensor };

const t = (shape: number[], offset = 0.3) => tf.add(tf.mul(tf.randomUniform(shape, 0, 1, 'float32', 7), 0.8), offset);
const x4 = () => t([2, 6, 6, 3]);
const x5 = () => t([1, 4, 4, 4, 2]);
const unary =
  (op: (x: tf.Tensor) => tf.Tensor, shape = [2, 3, 4]): Example =>
  () => ({ inputs: [t(shape)], f: (x) => op(x) });
/** No crop (BatchToSpaceND) / no padding (SpaceToBatchND) along the two block axes. */
const NO_CROP = [
  [0, 0],
  [0, 0],
];
const binary =
  (op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): Example =>
  () => ({ inputs: [t([2, 3]), t([2, 3], 0.5)], f: (a, b) => op(a, b) });

/** One forward computation per kernel that has a gradient in tfjs 4.22.0. */
const EXAMPLES: Record<string, Example> = {
  Abs: unary(tf.abs),
  Acos: unary(tf.acos),
  Acosh: unary((x) => tf.acosh(tf.add(x, 1))),
  Add: binary(tf.add),
  AddN: () => ({ inputs: [t([2, 3]), t([2, 3])], f: (a, b) => tf.addN([a!, b!]) }),
  ArgMax: unary((x) => tf.cast(tf.argMax(x, 1), 'float32')),
  ArgMin: unary((x) => tf.cast(tf.argMin(x, 1), 'float32')),
  Asin: unary(tf.asin),
  Asinh: unary(tf.asinh),
  Atan: unary(tf.atan),
  Atan2: binary(tf.atan2),
  Atanh: unary(tf.atanh),
  AvgPool: () => ({ inputs: [x4()], f: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid') }),
  AvgPool3D: () => ({ inputs: [x5()], f: (x) => tf.avgPool3d(x as tf.Tensor5D, 2, 2, 'valid') }),
  BatchMatMul: () => ({ inputs: [t([2, 3, 4]), t([2, 4, 5])], f: (a, b) => tf.matMul(a!, b!) }),
  BatchToSpaceND: unary((x) => tf.batchToSpaceND(x, [2, 2], NO_CROP), [4, 2, 2, 1]),
  Cast: unary((x) => tf.cast(x, 'float32')),
  Ceil: unary(tf.ceil),
  ClipByValue: unary((x) => tf.clipByValue(x, 0.4, 0.8)),
  ComplexAbs: () => ({ inputs: [tf.complex(t([2, 3]), t([2, 3]))], f: (z) => tf.abs(z!) }),
  Concat: binary((a, b) => tf.concat([a, b], 1)),
  Conv2D: () => ({
    inputs: [x4(), t([3, 3, 3, 4])],
    f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
  }),
  Conv2DBackpropInput: () => ({
    inputs: [t([2, 3, 3, 4]), t([3, 3, 2, 4])],
    f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 6, 6, 2], 2, 'same'),
  }),
  Conv3D: () => ({
    inputs: [x5(), t([2, 2, 2, 2, 3])],
    f: (x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'same'),
  }),
  Cos: unary(tf.cos),
  Cosh: unary(tf.cosh),
  // (tfjs 4.22.0's Cumsum gradient has the wrong shape for an inner axis of a rank-3 tensor: the last axis here)
  Cumsum: unary((x) => tf.cumsum(x, 2)),
  DepthwiseConv2dNative: () => ({
    inputs: [x4(), t([3, 3, 3, 2])],
    f: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
  }),
  Dilation2D: () => ({
    inputs: [x4(), t([2, 2, 3])],
    f: (x, w) => tf.dilation2d(x as tf.Tensor4D, w as tf.Tensor3D, 1, 'same'),
  }),
  Elu: unary(tf.elu),
  Erf: unary(tf.erf),
  Exp: unary(tf.exp),
  ExpandDims: unary((x) => tf.expandDims(x, 1)),
  Expm1: unary(tf.expm1),
  Floor: unary(tf.floor),
  FloorDiv: binary(tf.floorDiv),
  FusedBatchNorm: () => ({
    inputs: [x4(), t([3]), t([3]), t([3]), t([3])],
    f: (x, m, v, o, s) => tf.batchNorm(x!, m!, v!, o!, s!, 1e-3),
  }),
  GatherV2: () => ({ inputs: [t([4, 3])], f: (x) => tf.gather(x!, tf.tensor1d([2, 0, 2], 'int32')) }),
  GreaterEqual: binary((a, b) => tf.cast(tf.greaterEqual(a, b), 'float32')),
  Identity: unary(tf.clone),
  IsFinite: unary((x) => tf.cast(tf.isFinite(x), 'float32')),
  IsInf: unary((x) => tf.cast(tf.isInf(x), 'float32')),
  IsNan: unary((x) => tf.cast(tf.isNaN(x), 'float32')),
  LeakyRelu: unary((x) => tf.leakyRelu(tf.sub(x, 0.5))),
  Log: unary(tf.log),
  Log1p: unary(tf.log1p),
  LRN: () => ({ inputs: [x4()], f: (x) => tf.localResponseNormalization(x as tf.Tensor4D, 2) }),
  Max: unary((x) => tf.max(x, 1)),
  Maximum: binary(tf.maximum),
  MaxPool: () => ({ inputs: [x4()], f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') }),
  MaxPool3D: () => ({ inputs: [x5()], f: (x) => tf.maxPool3d(x as tf.Tensor5D, 2, 2, 'valid') }),
  Mean: unary((x) => tf.mean(x, [0, 1])),
  Min: unary((x) => tf.min(x, 1)),
  Minimum: binary(tf.minimum),
  MirrorPad: unary((x) =>
    tf.mirrorPad(
      x,
      [
        [0, 0],
        [1, 1],
        [1, 1],
      ],
      'reflect',
    ),
  ),
  Mod: binary(tf.mod),
  Multiply: binary(tf.mul),
  Neg: unary(tf.neg),
  OneHot: () => ({ inputs: [t([3])], f: (x) => tf.mul(tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 3), x!) }),
  OnesLike: unary(tf.onesLike),
  Pack: binary((a, b) => tf.stack([a, b])),
  PadV2: unary((x) =>
    tf.pad(
      x,
      [
        [0, 0],
        [1, 1],
        [0, 2],
      ],
      0.5,
    ),
  ),
  Pow: binary(tf.pow),
  Prelu: () => ({ inputs: [t([2, 3], -0.5), t([3])], f: (x, a) => tf.prelu(x!, a!) }),
  Prod: unary((x) => tf.prod(x, 1)),
  RealDiv: binary(tf.div),
  Reciprocal: unary(tf.reciprocal),
  Relu: unary((x) => tf.relu(tf.sub(x, 0.5))),
  Relu6: unary(tf.relu6),
  Reshape: unary((x) => tf.reshape(x, [6, 4])),
  ResizeBilinear: () => ({ inputs: [x4()], f: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [9, 9]) }),
  ResizeNearestNeighbor: () => ({ inputs: [x4()], f: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [9, 9]) }),
  Reverse: unary((x) => tf.reverse(x, 1)),
  Round: unary(tf.round),
  Rsqrt: unary(tf.rsqrt),
  Select: () => {
    const condition = tf.greater(t([2, 3]), 0.7);
    return { inputs: [t([2, 3]), t([2, 3], 0.5)], f: (a, b) => tf.where(condition, a!, b!) };
  },
  Selu: unary(tf.selu),
  Sigmoid: unary(tf.sigmoid),
  Sign: unary(tf.sign),
  Sin: unary(tf.sin),
  Sinh: unary(tf.sinh),
  Slice: unary((x) => tf.slice(x, [0, 1, 1], [2, 2, 2])),
  Softmax: unary(tf.softmax),
  Softplus: unary(tf.softplus),
  SpaceToBatchND: unary((x) => tf.spaceToBatchND(x, [2, 2], NO_CROP), [1, 4, 4, 1]),
  SplitV: unary((x) => tf.split(x, [1, 3], 2)[1]!),
  Sqrt: unary(tf.sqrt),
  Square: unary(tf.square),
  SquaredDifference: binary(tf.squaredDifference),
  Step: unary(tf.step),
  Sub: binary(tf.sub),
  Sum: unary((x) => tf.sum(x, [0, 1])),
  Tan: unary(tf.tan),
  Tanh: unary(tf.tanh),
  Tile: unary((x) => tf.tile(x, [1, 2, 1])),
  Transpose: unary((x) => tf.transpose(x, [2, 0, 1])),
  Unpack: unary((x) => tf.unstack(x, 1)[2]!),
  UnsortedSegmentSum: () => ({
    inputs: [t([4, 3])],
    f: (x) => tf.unsortedSegmentSum(x!, tf.tensor1d([0, 1, 0, 1], 'int32'), 2),
  }),
  ZerosLike: unary(tf.zerosLike),
};

/** Loss of an example: the sum of its output, so every output element gets a gradient. */
function trainOnce(example: Example): void {
  tf.tidy(() => {
    const { inputs, f } = example();
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(f(...xs)))(inputs);
    for (const g of grads) g.dataSync();
  });
}

interface Gap {
  kernel: string;
  /** Kernels the example needs, forward or backward, that wasm lacks. */
  missing: string[];
}

/** Every kernel with a gradient whose training (forward + backward) needs a kernel wasm does not have. */
async function gradientGaps(): Promise<{ withGradient: string[]; gaps: Gap[]; cpuFailures: string[] }> {
  await tf.setBackend('cpu');
  const withGradient = tf
    .getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((name) => tf.getGradient(name) !== undefined)
    .sort();
  const wasm = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  const gaps: Gap[] = [];
  const cpuFailures: string[] = [];
  for (const kernel of withGradient) {
    const example = EXAMPLES[kernel];
    if (example === undefined) continue;
    let used: Set<string>;
    try {
      used = kernelsRunBy(() => trainOnce(example));
    } catch (e) {
      cpuFailures.push(`${kernel}: ${String(e).slice(0, 160)}`);
      continue;
    }
    const missing = [...used].filter((k) => !wasm.has(k)).sort();
    if (missing.length > 0) gaps.push({ kernel, missing });
  }
  await tf.setBackend('wasm');
  return { withGradient, gaps, cpuFailures };
}

/** The README table between the markers: kernel -> missing kernels. */
function readmeGaps(): Gap[] {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- wasm-gradient-gaps:start -->');
  const end = readme.indexOf('<!-- wasm-gradient-gaps:end -->');
  expect(start, 'README markers').toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => /^\| `\w+` \|/.test(line))
    .map((line) => {
      const cells = line.split('|').map((c) => c.trim());
      return {
        kernel: cells[1]!.replace(/`/g, ''),
        missing: [...cells[2]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!).sort(),
      };
    });
}

let result: Awaited<ReturnType<typeof gradientGaps>>;

beforeAll(async () => {
  await initBackend('wasm');
  result = await gradientGaps();
}, 120_000);

describe('gradient coverage of the wasm backend', () => {
  it('has an example for every kernel tfjs registers a gradient for', () => {
    expect(result.withGradient.length).toBeGreaterThan(90);
    expect(result.withGradient.filter((k) => EXAMPLES[k] === undefined)).toEqual([]);
    expect(result.cpuFailures, 'examples must train on the cpu backend').toEqual([]);
  });

  it('lists in the core README exactly the kernels whose training needs a kernel wasm lacks', () => {
    expect(result.gaps).toEqual(readmeGaps());
  });

  it('trains every other op on wasm', async () => {
    await tf.setBackend('wasm');
    const gapped = new Set(result.gaps.map((g) => g.kernel));
    const failures: string[] = [];
    const before = tf.memory().numTensors;
    for (const kernel of result.withGradient) {
      if (gapped.has(kernel)) continue;
      try {
        trainOnce(EXAMPLES[kernel]!);
      } catch (e) {
        failures.push(`${kernel}: ${String(e).slice(0, 160)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails on wasm for every listed op, naming a kernel from the list', async () => {
    await tf.setBackend('wasm');
    for (const gap of result.gaps) {
      expect(() => trainOnce(EXAMPLES[gap.kernel]!), gap.kernel).toThrow(
        new RegExp(`Kernel '(${gap.missing.join('|')})' not registered for backend 'wasm'`),
      );
    }
  });
});
