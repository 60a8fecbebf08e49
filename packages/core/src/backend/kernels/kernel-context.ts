/**
 * Per-backend state of our kernels: the SIMD module instantiated on that backend's heap. A WeakMap, so a removed
 * and re-created wasm backend (tests do that) gets fresh kernels bound to its own memory.
 */
import { instantiateSimdKernels, type SimdKernels } from '../simd/simd-kernels';
import { memoryOf, type WasmBackend } from './wasm-backend';

const contexts = new WeakMap<object, { simd: SimdKernels | null }>();

/** The SIMD kernels bound to this backend's heap, or null when they cannot run here. */
export function simdOf(backend: WasmBackend): SimdKernels | null {
  let ctx = contexts.get(backend);
  if (ctx === undefined) {
    const memory = memoryOf(backend);
    ctx = { simd: memory === null ? null : instantiateSimdKernels(memory) };
    contexts.set(backend, ctx);
  }
  return ctx.simd;
}

/** Like {@link simdOf} but for kernels that have no other path. */
export function requireSimd(backend: WasmBackend, kernel: string): SimdKernels {
  const simd = simdOf(backend);
  if (simd === null) throw new Error(`${kernel}: the SIMD kernels could not be instantiated on this wasm backend`);
  return simd;
}
