/**
 * Cast for wasm without a copy when the dtype does not change. tfjs-core's gradients cast float32 tensors to
 * float32 all the time (Multiply, Relu, Abs, Identity gradients), and the stock kernel copies every one of them.
 * Also fixes the stock cast to bool, which wraps values into a byte (-3 became 253) instead of testing != 0.
 */
import type { tf } from '../../tf';
import { runStock } from './stock-kernels';
import { asWasm } from './wasm-backend';
import { wasmKernelConfig } from './kernel-setup';

function cast(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const x = args.inputs['x']!;
  const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
  const backend = asWasm(args.backend);
  if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
    const out = backend.makeOutput(x.shape, 'bool');
    const src =
      x.dtype === 'float32'
        ? (backend.typedArrayFromHeap(x) as Float32Array)
        : (backend.typedArrayFromHeap(x) as Int32Array);
    const dst = backend.typedArrayFromHeap(out) as Uint8Array;
    for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }
  if (dtype !== x.dtype || dtype === 'string')
    return runStock('Cast', args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype };
}

/** Kernel config: registered by registerWasmTrainingKernels() (other casts go to the stock kernel). */
export const castConfig: tf.KernelConfig = wasmKernelConfig('Cast', cast);
