/**
 * Per-backend state of our kernels: the SIMD module instantiated on that backend's heap and, with the threaded
 * backend, a pool of helper threads running the same kernels. A WeakMap, so a removed and re-created wasm backend
 * (tests do that) gets fresh kernels bound to its own memory.
 */
import { compiledSimdModule, instantiateSimdKernels, type SimdKernels } from '../simd/simd-kernels';
import { SimdPool } from '../simd/simd-pool';
import { memoryOf, type WasmBackend } from './wasm-backend';

interface Context {
  simd: SimdKernels | null;
  pool: SimdPool | null;
}

const contexts = new WeakMap<object, Context>();

function contextOf(backend: WasmBackend): Context {
  let ctx = contexts.get(backend);
  if (ctx === undefined) {
    const memory = memoryOf(backend);
    ctx = { simd: memory === null ? null : instantiateSimdKernels(memory), pool: null };
    contexts.set(backend, ctx);
  }
  return ctx;
}

/** The SIMD kernels bound to this backend's heap, or null when they cannot run here. */
export function simdOf(backend: WasmBackend): SimdKernels | null {
  return contextOf(backend).simd;
}

/** Like {@link simdOf} but for kernels that have no other path. */
export function requireSimd(backend: WasmBackend, kernel: string): SimdKernels {
  const simd = simdOf(backend);
  if (simd === null) throw new Error(`${kernel}: the SIMD kernels could not be instantiated on this wasm backend`);
  return simd;
}

/**
 * Starts helper threads for the SIMD kernels of this backend (threaded backend in Node only; a no-op elsewhere).
 * Returns how many threads the kernels can use.
 */
export async function startSimdPool(backend: WasmBackend, threads: number): Promise<number> {
  const ctx = contextOf(backend);
  const memory = memoryOf(backend);
  const module = memory === null ? undefined : compiledSimdModule(memory);
  if (ctx.pool === null && ctx.simd !== null && memory !== null && module !== undefined) {
    ctx.pool = await SimdPool.create(module, memory, ctx.simd, threads);
  }
  return ctx.pool?.size ?? 1;
}

/** Threads the SIMD kernels of this backend can use (1 without a pool). */
export function simdThreads(backend: WasmBackend): number {
  return contextOf(backend).pool?.size ?? 1;
}

/**
 * Runs one SIMD kernel per range (of images, rows, pixels...: the caller's split of the work), with the arguments
 * `args` builds for that range: in parallel on the pool when there is one (parts must write disjoint memory), else
 * one after the other.
 */
export function runParts<K extends keyof SimdKernels>(
  backend: WasmBackend,
  kernel: string,
  fn: K,
  ranges: readonly (readonly [number, number])[],
  args: (start: number, end: number, part: number) => Parameters<SimdKernels[K]>,
): void {
  const parts = ranges.map(([start, end], i) => args(start, end, i));
  const ctx = contextOf(backend);
  if (ctx.simd === null) throw new Error(`${kernel}: the SIMD kernels could not be instantiated on this wasm backend`);
  if (ctx.pool !== null && parts.length > 1) {
    ctx.pool.run(fn, parts);
    return;
  }
  const call = ctx.simd[fn] as (...a: number[]) => void;
  for (const p of parts) call(...(p as number[]));
}
