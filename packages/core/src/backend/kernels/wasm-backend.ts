/**
 * Typed access to the internals of tfjs-backend-wasm 4.22.0 that our kernels use: the emscripten module (its
 * exported C kernels, `_malloc`/`_free`, the heap), the `dataIdMap` (tensor id and heap offset of every tensor)
 * and `makeOutput`. These are not public API, which is why tfjs is pinned to exactly 4.22.0 and every kernel here
 * has a parity test against the `cpu` backend.
 */
import { tf } from '../../tf';
import { heapAlloc, heapF32 } from './heap';

/** The emscripten module of tfjs-backend-wasm, as far as we use it. */
export interface WasmModule {
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _Conv2D(...args: number[]): void;
  _Transpose(...args: number[]): void;
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
  PThread?: unknown;
}

interface TensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

/** The parts of `BackendWasm` our kernels touch. */
export interface WasmBackend extends tf.KernelBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): TensorData | undefined; has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface DataMap {
  delete(dataId: object): boolean;
}

/** Narrows a kernel's backend argument; our kernels are only registered for `wasm`. */
export function asWasm(backend: unknown): WasmBackend {
  return backend as WasmBackend;
}

/** The C-side tensor id of a tensor (what the emscripten kernels take). */
export function idOf(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.id;
}

/** Byte offset of a tensor's data in the wasm heap (unsigned: tensors may live above 2 GiB). */
export function ptrOf(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset >>> 0;
}

/** A fresh Float32Array view of a tensor's data (views go stale when the heap grows: take one after allocating). */
export function f32Of(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  return heapF32(backend, ptrOf(backend, t), sizeOf(t.shape));
}

/** The WebAssembly.Memory the backend allocates tensors in (shared in the threaded build). */
export function memoryOf(backend: WasmBackend): WebAssembly.Memory | null {
  return backend.wasm.asm?.memory ?? backend.wasm.wasmMemory ?? null;
}

/** Releases an intermediate TensorInfo a kernel made with makeOutput or another kernel. */
export function release(backend: WasmBackend, t: tf.TensorInfo): void {
  backend.disposeData(t.dataId);
}

/**
 * Runs another kernel registered for wasm (ours or stock) on TensorInfos, as kernels call each other inside a
 * backend: no engine bookkeeping, the caller releases the result.
 */
export function callKernel(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (config === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  const out = config.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend });
  return Array.isArray(out) ? out[0]! : out;
}

/** Transposes with the stock wasm Transpose kernel. */
export function transpose(backend: WasmBackend, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return callKernel('Transpose', backend, { x }, { perm });
}

/**
 * A tensor that aliases `shape`-sized memory at `ptr` inside another buffer (a row range of a tensor, a scratch
 * area), so stock kernels can run on part of a tensor without a copy. Release it with {@link releaseView}, never
 * with disposeData (that would free an interior pointer).
 */
export function makeView(backend: WasmBackend, ptr: number, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, 'float32', ptr >>> 0);
}

/** Forgets a view made by {@link makeView}: C-side tensor entry (and its cached XNNPACK operators), no free. */
export function releaseView(backend: WasmBackend, view: tf.TensorInfo): void {
  const data = backend.dataIdMap.get(view.dataId);
  if (data === undefined) return;
  (backend.wasm as unknown as { tfjs: { disposeData(id: number): void } }).tfjs.disposeData(data.id);
  (backend.dataIdMap as unknown as DataMap).delete(view.dataId);
}

/** Heap scratch space for small per-call parameter arrays; freed by the caller with `heapFree`. */
export function mallocF32(backend: WasmBackend, values: ArrayLike<number>): number {
  const ptr = heapAlloc(backend, Math.max(16, values.length * 4));
  heapF32(backend, ptr, values.length).set(values);
  return ptr;
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
