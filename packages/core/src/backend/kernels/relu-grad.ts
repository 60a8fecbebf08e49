/**
 * The gradient of Relu in one SIMD pass. tfjs-core's Relu gradient is dy * cast(step(x)): on wasm a Step, a Cast
 * and a Multiply over the full tensor, after every ReLU of a network (`tf.layers.reLU`, `activation: 'relu'` on a
 * layer that has no fused form). The gradient registered for Relu runs this kernel on wasm and tfjs's own
 * gradient everywhere else; the values are the same, NaNs included.
 */
import { tf } from '../../tf';
import { requireSimd, runParts } from './kernel-context';
import { imageParts, type KernelArgs, wasmKernelConfig } from './kernel-setup';
import { asWasm, ptrOf, sizeOf } from './wasm-backend';

/** Kernel name (custom: wasm only, called by the Relu gradient below). */
export const RELU_GRAD = 'MCXReluGrad';

function reluGrad(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const dx = backend.makeOutput(x.shape, 'float32');
  const n = sizeOf(x.shape);
  if (n === 0) return dx;
  requireSimd(backend, RELU_GRAD);
  const [dyp, xp, dxp] = [ptrOf(backend, dy), ptrOf(backend, x), ptrOf(backend, dx)];
  // Split into 4-aligned element ranges over the helper threads.
  const parts = imageParts(backend, Math.ceil(n / 4), 4, 65536).map(([a, b]) => [a * 4, Math.min(n, b * 4)] as const);
  runParts(backend, RELU_GRAD, 'reluGrad', parts, (a, b) => [dyp + a * 4, xp + a * 4, dxp + a * 4, b - a]);
  return dx;
}

/** Kernel config: registered by registerWasmTrainingKernels(). */
export const reluGradConfig: tf.KernelConfig = wasmKernelConfig(RELU_GRAD, reluGrad);

let installed = false;

/**
 * Replaces the gradient tfjs registered for Relu by one that runs {@link RELU_GRAD} when the active backend is
 * wasm with that kernel registered, and tfjs's own gradient otherwise. Idempotent.
 */
export function installReluGradient(): void {
  if (installed) return;
  const stock = tf.getGradient('Relu');
  if (stock === undefined) return;
  installed = true;
  tf.registerGradient({
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== 'wasm' || tf.getKernel(RELU_GRAD, 'wasm') === undefined)
        return stock.gradFunc(dy, saved, attrs);
      const [x] = saved as [tf.Tensor];
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor };
    },
  });
}
