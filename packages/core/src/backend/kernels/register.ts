/**
 * Registers the training kernels that tfjs-backend-wasm 4.22.0 lacks or gets wrong.
 * (Filled in by the kernel work: Conv2DBackpropFilter, Conv2DBackpropInput on XNNPACK, MaxPoolGrad, ...)
 */
export function registerWasmTrainingKernels(): void {
  // see kernels in this folder
}
