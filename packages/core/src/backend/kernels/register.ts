/**
 * Registers the training kernels that tfjs-backend-wasm 4.22.0 lacks or gets wrong, replacing stock ones where
 * ours are faster or correct. Called by initBackend('wasm'|'auto') after `tf.setBackend('wasm')`; idempotent.
 *
 * To add a kernel: write it in this folder as a `tf.KernelConfig` (one file per kernel, inputs and attrs exactly
 * as tfjs-core's op passes them), add it to KERNELS below, and add a parity case to
 * test/kernels-parity.test.ts (gradient against the `cpu` backend, relative error < 1e-4).
 */
import { tf } from '../../tf';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input';
import { identityConfig } from './identity';
import { maxPoolGradConfig } from './max-pool-grad';
import { batchNormKernelConfigs } from './batch-norm-kernels';
import { conv2DConfig, fusedConv2DConfig } from './conv2d-single-channel';
import { castConfig } from './cast';
import { avgPoolGradConfig } from './avg-pool-grad';
import { resizeBilinearGradConfig } from './resize-bilinear-grad';
import { resizeNearestNeighborGradConfig } from './resize-nearest-grad';
import { concatConfig, sliceConfig, splitVConfig } from './slice-concat';
import {
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
} from './depthwise-conv2d-backprop';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';
import { meanConfig, sumConfig } from './reductions';
import { installReluGradient, reluGradConfig } from './relu-grad';
import { batchMatMulConfig, fusedMatMulConfig } from './matmul';
import { adamUpdateConfig, installFusedAdam } from './adam';
import { captureStock, markOurs, stockKernel } from './stock-kernels';
import { withHeapScope } from './heap';

const RAW_KERNELS: tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  maxPoolGradConfig,
  avgPoolGradConfig,
  resizeBilinearGradConfig,
  resizeNearestNeighborGradConfig,
  identityConfig,
  unsortedSegmentSumConfig,
  reluGradConfig,
  sumConfig,
  meanConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  adamUpdateConfig,
  conv2DConfig,
  fusedConv2DConfig,
  castConfig,
  sliceConfig,
  splitVConfig,
  concatConfig,
  ...batchNormKernelConfigs,
];
// Each kernel frees what it allocated when it fails (a full heap), so a caught WasmHeapError leaks nothing.
const KERNELS: tf.KernelConfig[] = RAW_KERNELS.map((k) => ({
  ...k,
  kernelFunc: withHeapScope(k.kernelName, k.kernelFunc),
}));
for (const k of KERNELS) markOurs(k.kernelFunc);

/** Names of the wasm kernels MultiCheXNet registers (stock replacements and additions). */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map((k) => k.kernelName);

/** Options of {@link registerWasmTrainingKernels}. */
export interface WasmKernelOptions {
  /**
   * Kernel names to leave to tfjs-backend-wasm (the stock kernel is put back where there is one; the BatchNorm
   * layer falls back to plain ops without its kernels). For measuring what each kernel gives.
   */
  exclude?: readonly string[];
}

/**
 * Registers (or re-registers) our kernels for the `wasm` backend; initBackend calls it. Idempotent; calling it
 * again with another `exclude` list switches kernels between ours and stock at once.
 * @example
 * registerWasmTrainingKernels({ exclude: ['Conv2DBackpropInput'] });   // time the stock kernel
 */
export function registerWasmTrainingKernels(options: WasmKernelOptions = {}): void {
  installReluGradient();
  installFusedAdam();
  const exclude = new Set(options.exclude ?? []);
  for (const config of KERNELS) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    captureStock(config.kernelName);
    const stock = stockKernel(config.kernelName);
    if (exclude.has(config.kernelName)) {
      if (existing !== undefined && existing.kernelFunc === config.kernelFunc) {
        tf.unregisterKernel(config.kernelName, 'wasm');
        if (stock !== undefined) tf.registerKernel(stock);
      }
      continue;
    }
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
    // The stock setup (its cwrap bindings) must still run for every new wasm backend: ours may delegate to it.
    tf.registerKernel({ ...config, setupFunc: stock?.setupFunc, disposeFunc: stock?.disposeFunc });
  }
}
