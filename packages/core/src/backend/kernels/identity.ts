/**
 * Identity for wasm without a copy. Tensors are immutable, so the output can share the input's buffer (one more
 * reference on it), as the cpu backend does. It matters because the engine clones, through Identity, every
 * tensor it keeps for backprop: the stock kernel copied each of them.
 */
import type { tf } from '../../tf';
import { asWasm } from './wasm-backend';
import { wasmKernelConfig } from './kernel-setup';

function identity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = args.inputs['x']!;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Kernel config: replaces the stock copying kernel; registered by registerWasmTrainingKernels(). */
export const identityConfig: tf.KernelConfig = wasmKernelConfig('Identity', identity);
