/**
 * Slice, SplitV and Concat for wasm as strided block copies in SIMD. The stock kernels are slow exactly where
 * DenseNet and decoders live: Slice first copies the whole input out of the heap (readSync), then both Slice and
 * Concat copy a channel block per pixel with one JS call each. Here a copy is one wasm call per (collapsed) block
 * of rows. 1-byte (bool) and string tensors go to the stock kernels.
 */
import { tf } from '../../tf';
import { requireSimd } from './kernel-context';
import { runStock } from './stock-kernels';
import { asWasm, ptrOf, sizeOf, type WasmBackend } from './wasm-backend';
import { wasmKernelConfig } from './kernel-setup';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function fourBytes(dtype: tf.DataType): boolean {
  return dtype === 'float32' || dtype === 'int32';
}

/**
 * Collapses a slice to as few axes as possible: an axis merges into the one before it when it is taken whole.
 * Returns shape, begin and size of the collapsed slice (same elements, same order).
 */
export function collapseSlice(
  shape: number[],
  begin: number[],
  size: number[],
): { shape: number[]; begin: number[]; size: number[] } {
  const s: number[] = [shape[0] ?? 1];
  const b: number[] = [begin[0] ?? 0];
  const z: number[] = [size[0] ?? 1];
  for (let i = 1; i < shape.length; i++) {
    const k = s.length - 1;
    if (size[i] === shape[i] && begin[i] === 0) {
      s[k] = s[k]! * shape[i]!;
      b[k] = b[k]! * shape[i]!;
      z[k] = z[k]! * shape[i]!;
    } else {
      s.push(shape[i]!);
      b.push(begin[i]!);
      z.push(size[i]!);
    }
  }
  return { shape: s, begin: b, size: z };
}

/** Copies x[begin : begin + size] into out (both 4-byte dtypes, out contiguous). */
function copySlice(backend: WasmBackend, x: tf.TensorInfo, out: tf.TensorInfo, begin: number[], size: number[]): void {
  const c = collapseSlice(x.shape, begin, size);
  const rank = c.shape.length;
  const simd = requireSimd(backend, 'Slice');
  const src = ptrOf(backend, x);
  const dst = ptrOf(backend, out);
  if (rank === 1) {
    simd.copyBlock(src, 0, c.begin[0]!, dst, 0, 0, 1, c.size[0]!);
    return;
  }
  // The last two collapsed axes are one copyBlock (rows x width); loop over the axes before them.
  const strides = tf.util.computeStrides(c.shape);
  const width = c.size[rank - 1]!;
  const rows = c.size[rank - 2]!;
  const outer = c.size.slice(0, rank - 2);
  const count = sizeOf(outer);
  const idx = new Array<number>(outer.length).fill(0);
  let dstOff = 0;
  for (let n = 0; n < count; n++) {
    let srcOff = c.begin[rank - 2]! * strides[rank - 2]! + c.begin[rank - 1]!;
    for (let a = 0; a < outer.length; a++) srcOff += (c.begin[a]! + idx[a]!) * strides[a]!;
    simd.copyBlock(src, strides[rank - 2]!, srcOff, dst, width, dstOff, rows, width);
    dstOff += rows * width;
    for (let a = outer.length - 1; a >= 0; a--) {
      if (++idx[a]! < outer[a]!) break;
      idx[a] = 0;
    }
  }
}

function slice(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = args.inputs['x']!;
  if (!fourBytes(x.dtype)) return runStock('Slice', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo & { rank: number }, begin, size);
  const out = backend.makeOutput(s, x.dtype);
  if (sizeOf(s) > 0) copySlice(backend, x, out, b, s);
  return out;
}

function splitV(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(args.backend);
  const x = args.inputs['x']!;
  if (!fourBytes(x.dtype)) return runStock('SplitV', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    const out = backend.makeOutput(size, x.dtype);
    if (sizeOf(size) > 0) copySlice(backend, x, out, [...begin], size);
    begin[ax]! += n;
    return out;
  });
}

function concat(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const first = inputs[0]!;
  if (!fourBytes(first.dtype) || inputs.some((t) => t.dtype !== first.dtype)) {
    return runStock('Concat', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, first.shape)[0]!;
  tf.backend_util.assertParamsConsistent(
    inputs.map((t) => t.shape),
    axis,
  );
  const outShape = tf.backend_util.computeOutShape(
    inputs.map((t) => t.shape),
    axis,
  );
  const out = backend.makeOutput(outShape, first.dtype);
  if (sizeOf(outShape) === 0) return out;
  // As 2-D: [outer, inner_i] blocks side by side in [outer, sum inner_i].
  const outer = sizeOf(first.shape.slice(0, axis));
  const total = sizeOf(outShape.slice(axis));
  const simd = requireSimd(backend, 'Concat');
  const dst = ptrOf(backend, out);
  let offset = 0;
  for (const t of inputs) {
    const inner = sizeOf(t.shape.slice(axis));
    if (inner > 0) simd.copyBlock(ptrOf(backend, t), inner, 0, dst, total, offset, outer, inner);
    offset += inner;
  }
  return out;
}

/** Kernel configs: registered by registerWasmTrainingKernels() (stock kernels remain the fallback). */
export const sliceConfig: tf.KernelConfig = wasmKernelConfig('Slice', slice);
export const splitVConfig: tf.KernelConfig = wasmKernelConfig('SplitV', splitV);
export const concatConfig: tf.KernelConfig = wasmKernelConfig('Concat', concat);
