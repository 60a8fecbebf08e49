/**
 * AvgPoolGrad for wasm, four channels at a time (the stock kernel is a scalar loop; DenseNet transitions run it
 * on every block). Same semantics as tfjs: each window spreads dy / (KH * KW) over its taps inside the image.
 */
import type { tf } from '../../tf';
import { runParts } from './kernel-context';
import { poolGeometry, poolGradSetup, type KernelArgs, wasmKernelConfig } from './kernel-setup';
import { ptrOf } from './wasm-backend';

function avgPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { backend, dy, info, dx, images } = poolGradSetup(args, 'AvgPoolGrad');
  if (images === null) return dx;
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const dyp = ptrOf(backend, dy);
  const dxp = ptrOf(backend, dx);
  const scale = 1 / (info.filterHeight * info.filterWidth);
  const geometry = poolGeometry(info);
  runParts(backend, 'AvgPoolGrad', 'avgPoolGrad', images, (b0, b1) => [
    dyp + b0 * OH * OW * C * 4,
    dxp + b0 * H * W * C * 4,
    b1 - b0,
    ...geometry,
    scale,
  ]);
  return dx;
}

/** Kernel config: replaces the stock scalar kernel; registered by registerWasmTrainingKernels(). */
export const avgPoolGradConfig: tf.KernelConfig = wasmKernelConfig('AvgPoolGrad', avgPoolGrad);
