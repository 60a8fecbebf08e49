/**
 * MaxPoolGrad for wasm, replacing the stock kernel, which is a scalar loop and whose running maximum starts at
 * the smallest positive float: a window of only negative values then passes no gradient at all. Here the
 * gradient of a window goes to its first maximum (strict >, row-major scan), as TensorFlow does, starting from
 * the window's first element. 2x2 windows with stride 2 and no padding (every U-Net / VGG style pool) take a
 * SIMD path that writes each element once.
 */
import type { tf } from '../../tf';
import { runParts } from './kernel-context';
import { poolGeometry, poolGradSetup, type KernelArgs, wasmKernelConfig } from './kernel-setup';
import { ptrOf } from './wasm-backend';

function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { backend, dy, input, info, dx, images } = poolGradSetup(args, 'MaxPoolGrad');
  if (images === null) return dx;
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const p = info.padInfo;
  const tiles2x2 =
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    p.top === 0 &&
    p.left === 0 &&
    OH === Math.floor(H / 2) &&
    OW === Math.floor(W / 2);
  const xp = ptrOf(backend, input);
  const dyp = ptrOf(backend, dy);
  const dxp = ptrOf(backend, dx);
  const inImg = H * W * C * 4;
  const outImg = OH * OW * C * 4;
  if (tiles2x2) {
    runParts(backend, 'MaxPoolGrad', 'maxPoolGrad2x2', images, (b0, b1) => [
      xp + b0 * inImg,
      dyp + b0 * outImg,
      dxp + b0 * inImg,
      b1 - b0,
      H,
      W,
      C,
    ]);
  } else {
    const geometry = poolGeometry(info);
    runParts(backend, 'MaxPoolGrad', 'maxPoolGradGeneric', images, (b0, b1) => [
      xp + b0 * inImg,
      dyp + b0 * outImg,
      dxp + b0 * inImg,
      b1 - b0,
      ...geometry,
    ]);
  }
  return dx;
}

/** Kernel config: replaces the stock kernel; registered by registerWasmTrainingKernels(). */
export const maxPoolGradConfig: tf.KernelConfig = wasmKernelConfig('MaxPoolGrad', maxPoolGrad);
