/**
 * Training-mode BatchNorm as two wasm kernels, used by core's BatchNorm layer (layers/batch-norm.ts) through
 * tf.customGrad. Over x flattened to rows x C (NHWC, channels last):
 *
 *   forward  (MCXBatchNormTraining):     one pass for sum and sum of squares per channel, one pass for
 *                                         y = x * scale + offset (optionally max(., 0)): outputs y, mean, variance
 *   backward (MCXBatchNormTrainingGrad): one pass for sum(g) and sum(g * (x - mean)), one pass for dx; outputs
 *                                         dx, dgamma, dbeta
 *
 * tfjs-core's own BatchNorm gradient tiles 1/sqrt(var) to the full tensor size and reduces through transposes:
 * about half of a training step on wasm. Both passes here stream the tensor once, in SIMD. The ReLU mask of the
 * fused variant is recomputed from x with the very float operations of the forward, so y need not be kept.
 */
import { tf } from '../../tf';
import { requireSimd, runParts, simdThreads } from './kernel-context';
import { splitRange } from '../simd/simd-pool';
import { heapAlloc, heapF64, heapFree } from './heap';
import { asWasm, f32Of, mallocF32, ptrOf, sizeOf, type WasmBackend } from './wasm-backend';
import { wasmKernelConfig, type KernelArgs } from './kernel-setup';

/** Kernel names (custom: they exist only for wasm and are never called by tfjs itself). */
export const BATCH_NORM_TRAINING = 'MCXBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'MCXBatchNormTrainingGrad';

/** Per-channel affine form of the normalisation; the same float32 rounding in forward and backward. */
export interface BatchNormAffine {
  invStd: Float32Array;
  scale: Float32Array;
  offset: Float32Array;
}

/** scale = gamma / sqrt(var + eps), offset = beta - mean * scale, each rounded to float32. */
export function batchNormAffine(
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  epsilon: number,
): BatchNormAffine {
  const C = mean.length;
  const invStd = new Float32Array(C);
  const scale = new Float32Array(C);
  const offset = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    invStd[c] = 1 / Math.sqrt(variance[c]! + epsilon);
    scale[c] = gamma[c]! * invStd[c]!;
    offset[c] = beta[c]! - mean[c]! * scale[c]!;
  }
  return { invStd, scale, offset };
}

/** Scratch heap block for per-channel parameters, freed in one call. */
class Scratch {
  private readonly ptrs: number[] = [];
  constructor(private readonly backend: WasmBackend) {}
  f32(values: ArrayLike<number>): number {
    const ptr = mallocF32(this.backend, values);
    this.ptrs.push(ptr);
    return ptr;
  }
  f64Zeros(n: number): number {
    const ptr = heapAlloc(this.backend, Math.max(16, n * 8));
    this.ptrs.push(ptr);
    heapF64(this.backend, ptr, n).fill(0);
    return ptr;
  }
  readF64(ptr: number, n: number): Float64Array {
    return heapF64(this.backend, ptr, n).slice();
  }
  free(): void {
    for (const p of this.ptrs) heapFree(this.backend, p);
    this.ptrs.length = 0;
  }
}

/** Row ranges for the helper threads: at least ~32K elements per part, or no split. */
function rowParts(backend: WasmBackend, rows: number, C: number): [number, number][] {
  return splitRange(rows, simdThreads(backend), Math.ceil(32768 / Math.max(1, C)));
}

/** Adds the per-part f64 accumulators (parts x n) into one array of n. */
function sumParts(parts: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let p = 0; p < parts.length; p += n) for (let i = 0; i < n; i++) out[i]! += parts[p + i]!;
  return out;
}

function channelsOf(x: tf.TensorInfo): { C: number; rows: number } {
  const C = x.shape[x.shape.length - 1]!;
  return { C, rows: C === 0 ? 0 : sizeOf(x.shape) / C };
}

function writeOutput(backend: WasmBackend, values: Float32Array): tf.TensorInfo {
  const out = backend.makeOutput([values.length], 'float32');
  f32Of(backend, out).set(values);
  return out;
}

/** What both BatchNorm kernels start from: the attributes, x's channels C and rows, a scratch owner to free. */
function batchNormSetup(args: KernelArgs, kernel: string, x: tf.TensorInfo) {
  const backend = asWasm(args.backend);
  const { epsilon, relu } = args.attrs as unknown as { epsilon: number; relu: boolean };
  const { C, rows } = channelsOf(x);
  requireSimd(backend, kernel);
  return { backend, epsilon, relu, C, rows, scratch: new Scratch(backend) };
}

function batchNormTraining(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const { backend, epsilon, relu, C, rows, scratch } = batchNormSetup(args, BATCH_NORM_TRAINING, x);
  try {
    const shift = rows > 0 ? f32Of(backend, x).slice(0, C) : new Float32Array(C);
    const ranges = rowParts(backend, rows, C);
    const sums = scratch.f64Zeros(2 * C * ranges.length);
    const pShift = scratch.f32(shift);
    const px = ptrOf(backend, x);
    if (rows > 0) {
      runParts(backend, BATCH_NORM_TRAINING, 'bnStats', ranges, (r0, r1, i) => [
        px + r0 * C * 4,
        r1 - r0,
        C,
        pShift,
        sums + i * 16 * C,
      ]);
    }
    const s = sumParts(scratch.readF64(sums, 2 * C * ranges.length), 2 * C);
    const mean = new Float32Array(C);
    const variance = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const m1 = rows > 0 ? s[c]! / rows : 0;
      mean[c] = shift[c]! + m1;
      variance[c] = rows > 0 ? Math.max(0, s[C + c]! / rows - m1 * m1) : 0;
    }
    const { scale, offset } = batchNormAffine(f32Of(backend, gamma), f32Of(backend, beta), mean, variance, epsilon);
    const y = backend.makeOutput(x.shape, 'float32');
    if (rows > 0) {
      const pScale = scratch.f32(scale);
      const pOffset = scratch.f32(offset);
      const xp = ptrOf(backend, x);
      const yp = ptrOf(backend, y);
      runParts(backend, BATCH_NORM_TRAINING, 'bnApply', ranges, (r0, r1) => [
        xp + r0 * C * 4,
        yp + r0 * C * 4,
        r1 - r0,
        C,
        pScale,
        pOffset,
        relu ? 1 : 0,
      ]);
    }
    return [y, writeOutput(backend, mean), writeOutput(backend, variance)];
  } finally {
    scratch.free();
  }
}

function batchNormTrainingGrad(args: KernelArgs): tf.TensorInfo[] {
  const { x, dy, gamma, beta, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
  const { backend, epsilon, relu, C, rows, scratch } = batchNormSetup(args, BATCH_NORM_TRAINING_GRAD, x!);
  try {
    const meanV = f32Of(backend, mean!).slice();
    const gammaV = f32Of(backend, gamma!).slice();
    const { invStd, scale, offset } = batchNormAffine(
      gammaV,
      f32Of(backend, beta!),
      meanV,
      f32Of(backend, variance!),
      epsilon,
    );
    const pMean = scratch.f32(meanV);
    const pScale = scratch.f32(scale);
    const pOffset = scratch.f32(offset);
    const ranges = rowParts(backend, rows, C);
    const sums = scratch.f64Zeros(2 * C * ranges.length);
    const xp = ptrOf(backend, x!);
    const dyp = ptrOf(backend, dy!);
    if (rows > 0) {
      runParts(backend, BATCH_NORM_TRAINING_GRAD, 'bnGradReduce', ranges, (r0, r1, i) => [
        xp + r0 * C * 4,
        dyp + r0 * C * 4,
        r1 - r0,
        C,
        pMean,
        pScale,
        pOffset,
        relu ? 1 : 0,
        sums + i * 16 * C,
      ]);
    }
    const s = sumParts(scratch.readF64(sums, 2 * C * ranges.length), 2 * C);
    const dgamma = new Float32Array(C);
    const dbeta = new Float32Array(C);
    const a = new Float32Array(C);
    const b = new Float32Array(C);
    const k = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const sumG = s[c]!;
      const sumGXmu = s[C + c]!;
      const is = invStd[c]!;
      dbeta[c] = sumG;
      dgamma[c] = sumGXmu * is;
      // dx = gamma*is * (g - mean(g) - (x - mean) * is^2 * mean(g * (x - mean)))
      const ac = gammaV[c]! * is;
      a[c] = ac;
      b[c] = rows > 0 ? (-ac * is * is * sumGXmu) / rows : 0;
      k[c] = rows > 0 ? (-ac * sumG) / rows : 0;
    }
    const dx = backend.makeOutput(x!.shape, 'float32');
    if (rows > 0) {
      const pa = scratch.f32(a);
      const pb = scratch.f32(b);
      const pk = scratch.f32(k);
      const xq = ptrOf(backend, x!);
      const dyq = ptrOf(backend, dy!);
      const dxq = ptrOf(backend, dx);
      runParts(backend, BATCH_NORM_TRAINING_GRAD, 'bnGradApply', ranges, (r0, r1) => {
        const o = r0 * C * 4;
        return [xq + o, dyq + o, dxq + o, r1 - r0, C, pScale, pOffset, relu ? 1 : 0, pMean, pa, pb, pk];
      });
    }
    return [dx, writeOutput(backend, dgamma), writeOutput(backend, dbeta)];
  } finally {
    scratch.free();
  }
}

/** Kernel configs: registered by registerWasmTrainingKernels(). */
export const batchNormKernelConfigs: tf.KernelConfig[] = [
  wasmKernelConfig(BATCH_NORM_TRAINING, batchNormTraining),
  wasmKernelConfig(BATCH_NORM_TRAINING_GRAD, batchNormTrainingGrad),
];
