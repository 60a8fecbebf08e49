/**
 * Checked access to the wasm heap of tfjs-backend-wasm.
 *
 * The heap is a wasm32 memory of up to 4 GiB, but emscripten's `_malloc` returns a signed 32-bit number: every
 * address above 2 GiB comes back negative, and a typed-array view at a negative offset throws a RangeError. So
 * every address our kernels get from `_malloc` goes through {@link heapAlloc} (`>>> 0`), and every view through
 * {@link heapF32} / {@link heapF64}. tfjs's own JavaScript already does `>>> 0` where it allocates tensors.
 *
 * When the heap is full `_malloc` returns 0, and tfjs 4.22.0 would register the tensor at address 0 and write over
 * the start of the heap. {@link installHeapGuard} wraps the module's `_malloc` so that a failed allocation (or
 * one that leaves less than {@link HEAP_RESERVE_BYTES} for the C side's own allocations) throws a
 * {@link WasmHeapError} instead, naming the batch size that would fit.
 */
import { tf } from '../../tf';
import { ConfigError } from '../../errors';
import type { WasmBackend, WasmModule } from './wasm-backend';

/** Largest heap the backend's emscripten build can grow to (4 GiB minus one 64 KiB page). */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

/**
 * Headroom kept free at the top of the heap for XNNPACK and the C++ side (packed filters, indirection buffers,
 * workspaces), whose own allocation failures would abort the module instead of throwing.
 */
export const HEAP_RESERVE_BYTES = 64 * 2 ** 20;

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** What was known when the heap ran out. */
export interface HeapShortage {
  /** Bytes of the allocation that failed. */
  requestedBytes: number;
  /** Bytes of tensor buffers live on the heap when it failed. */
  tensorBytes: number;
  /** Bytes of tf.Variables (weights and optimizer state): these do not scale with the batch. */
  variableBytes: number;
  /** Batch of the latest 4-D input tensor (the images in flight), or null when none was seen. */
  batchSize: number | null;
  /**
   * Peak tensor bytes of a smaller batch that ran without running out, when there was one (the best basis for
   * the estimate); else null and the estimate uses the bytes in use when the heap ran out (a lower bound of the
   * step's peak).
   */
  reference: { batchSize: number; peakBytes: number } | null;
}

/**
 * The step needs more memory than the 4 GiB wasm32 heap: a {@link ConfigError} on `batchSize` naming the largest
 * batch estimated to fit (`fittingBatchSize`). The estimate is bytes per sample: from the peak of a smaller batch
 * that ran in this process when there is one, else from the memory in use when the heap ran out, which is below
 * the step's peak, so that estimate is an upper bound.
 */
export class WasmHeapError extends ConfigError {
  readonly shortage: HeapShortage;
  /** Largest batch estimated to fit, or null when the batch is not known. */
  readonly fittingBatchSize: number | null;
  constructor(shortage: HeapShortage) {
    const fitting = fittingBatchSize(shortage);
    const inUse = `${(shortage.tensorBytes / GiB).toFixed(2)} GiB in tensors, ${(shortage.variableBytes / MiB).toFixed(0)} MiB of it weights and optimizer state`;
    const need = `a ${(shortage.requestedBytes / MiB).toFixed(1)} MiB allocation does not fit in the ${(WASM_HEAP_LIMIT_BYTES / GiB).toFixed(0)} GiB wasm32 heap (${inUse})`;
    const fixes = 'micro-batches (gradient accumulation) or the tensorflow backend (@tensorflow/tfjs-node)';
    let rule: string;
    if (shortage.batchSize === null || fitting === null) {
      rule = `${need}; use smaller inputs or fewer at once, ${fixes}`;
    } else {
      const per = `${(perSampleBytes(shortage)! / MiB).toFixed(0)} MiB per sample`;
      const basis =
        shortage.reference !== null
          ? `${per}, measured at batch ${shortage.reference.batchSize}`
          : `${per} in use when the heap ran out; the step's peak is higher, so fewer may be needed`;
      rule = `${need}; use batch size <= ${fitting} (estimated from ${basis}), ${fixes}`;
    }
    super('batch size for the wasm backend', [
      { path: 'batchSize', rule, received: shortage.batchSize === null ? 'unknown' : String(shortage.batchSize) },
    ]);
    this.shortage = shortage;
    this.fittingBatchSize = fitting;
  }
}

function perSampleBytes(s: HeapShortage): number | null {
  if (s.reference !== null) return Math.max(1, s.reference.peakBytes - s.variableBytes) / s.reference.batchSize;
  if (s.batchSize === null || s.batchSize <= 0) return null;
  return Math.max(1, s.tensorBytes + s.requestedBytes - s.variableBytes) / s.batchSize;
}

/** Largest batch whose memory, at the estimated bytes per sample, fits in the heap beside the variables. */
export function fittingBatchSize(s: HeapShortage): number | null {
  const per = perSampleBytes(s);
  if (per === null || s.batchSize === null) return null;
  // 5% of the heap is left to fragmentation: buffers of a step come and go in many sizes.
  const room = 0.95 * (WASM_HEAP_LIMIT_BYTES - HEAP_RESERVE_BYTES) - s.variableBytes;
  // The batch that failed needed more than the heap, so never suggest it (or more) again.
  return Math.max(0, Math.min(Math.floor(room / per), s.batchSize - 1));
}

interface GuardState {
  /** Batch of the images in flight: the leading dimension of the activations our conv / BatchNorm kernels see. */
  batch: number | null;
  /** Whether a gradient computation completed while `batch` was current. */
  completed: boolean;
  /** Peak live bytes of steps that completed, per batch. */
  batchPeaks: Map<number, number>;
  failedBatches: Set<number>;
  peakSinceBatch: number;
  /** Bytes of each live tensor buffer, and their sum (tfjs's own count adds shared buffers once per tensor). */
  sizes: Map<object, number>;
  liveBytes: number;
  /** Most bytes live at once since the last `wasmHeapStats({ resetPeak: true })`. */
  peakBytes: number;
  /** Buffers allocated while one of our kernels runs (see {@link withHeapScope}); null outside kernels. */
  scope: object[] | null;
}
const guards = new WeakMap<object, GuardState>();

function variableBytes(): number {
  const vars = (tf.engine() as unknown as { state: { registeredVariables: Record<string, tf.Variable> } }).state
    .registeredVariables;
  let bytes = 0;
  for (const v of Object.values(vars)) if (!v.isDisposed) bytes += v.size * 4;
  return bytes;
}

/** Kernels whose input `x` is an NHWC activation, so `x.shape[0]` is the batch. */
const BATCH_KERNELS = new Set([
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropFilter',
  'MCXBatchNormTraining',
  'FusedBatchNorm',
]);

function noteBatch(state: GuardState, batch: number): void {
  if (batch === state.batch) return;
  state.batch = batch;
  state.completed = false;
  state.peakSinceBatch = state.liveBytes;
}

function noteStepDone(state: GuardState): void {
  const b = state.batch;
  if (b === null || state.failedBatches.has(b)) return;
  state.completed = true;
  state.batchPeaks.set(b, Math.max(state.batchPeaks.get(b) ?? 0, state.peakSinceBatch));
}

let tapeCleanupInstalled = false;

/**
 * tfjs keeps the tensors a training step saves for its backward pass on the engine's tape and disposes them only
 * when the gradient computation succeeds: a step that throws (a full heap) leaked all of them. This wraps
 * `engine.gradients` (what minimize, variableGrads and grads call) to dispose them on failure too, and to note
 * the peak memory of each step that completes (the basis of the next WasmHeapError's estimate).
 */
function installTapeCleanup(): void {
  if (tapeCleanupInstalled) return;
  tapeCleanupInstalled = true;
  type Node = { saved?: tf.Tensor[] };
  const engine = tf.engine() as unknown as {
    gradients: (...args: unknown[]) => unknown;
    backend: unknown;
    state: { gradientDepth: number; activeTape: Node[] | null };
  };
  const raw = engine.gradients.bind(engine);
  engine.gradients = (...args: unknown[]) => {
    try {
      const result = raw(...args);
      if (engine.state.gradientDepth === 0) {
        const state = guards.get(engine.backend as object);
        if (state !== undefined) noteStepDone(state);
      }
      return result;
    } catch (e) {
      if (engine.state.gradientDepth === 0 && engine.state.activeTape !== null) {
        for (const node of engine.state.activeTape) for (const t of node.saved ?? []) t.dispose();
        engine.state.activeTape = null;
      }
      throw e;
    }
  };
}

/** The error for an allocation of `bytes` that did not fit (and remembers that this batch ran out). */
export function heapShortageError(backend: WasmBackend, bytes: number): WasmHeapError {
  const state = guards.get(backend);
  const batch = state?.batch ?? null;
  let reference: HeapShortage['reference'] = null;
  if (state !== undefined && batch !== null) {
    state.failedBatches.add(batch);
    state.batchPeaks.delete(batch);
    for (const [b, peak] of state.batchPeaks) {
      if (b < batch && (reference === null || b > reference.batchSize)) reference = { batchSize: b, peakBytes: peak };
    }
  }
  return new WasmHeapError({
    requestedBytes: bytes,
    tensorBytes: state?.liveBytes ?? 0,
    variableBytes: variableBytes(),
    batchSize: batch,
    reference,
  });
}

/**
 * Makes the backend's `_malloc` throw a {@link WasmHeapError} instead of returning 0 (or an address that leaves
 * no room for the C side), and keeps the numbers that error's estimate needs: bytes of live tensor buffers and
 * the peak bytes of each completed step per batch. Idempotent per backend.
 */
export function installHeapGuard(backend: WasmBackend): void {
  if (guards.has(backend)) return;
  installTapeCleanup();
  const state: GuardState = {
    batch: null,
    completed: false,
    batchPeaks: new Map(),
    failedBatches: new Set(),
    peakSinceBatch: 0,
    sizes: new Map(),
    liveBytes: 0,
    peakBytes: 0,
    scope: null,
  };
  guards.set(backend, state);
  const wasm = backend.wasm as WasmModule & { _malloc: (bytes: number) => number };
  // emscripten's export stub replaces Module._malloc by the raw export on its first call: make that call now, so
  // it cannot replace the wrapper below.
  wasm._free(wasm._malloc(16));
  const rawMalloc = wasm._malloc.bind(wasm);
  const rawFree = wasm._free.bind(wasm);
  wasm._malloc = (bytes: number): number => {
    const ptr = rawMalloc(bytes) >>> 0;
    if (bytes > 0 && (ptr === 0 || ptr + bytes > WASM_HEAP_LIMIT_BYTES - HEAP_RESERVE_BYTES)) {
      if (ptr !== 0) rawFree(ptr);
      throw heapShortageError(backend, bytes);
    }
    return ptr;
  };
  const b = backend as unknown as {
    move(dataId: object, values: unknown, shape: number[], dtype: tf.DataType, refCount: number): void;
  };
  const rawMove = b.move.bind(backend);
  b.move = (dataId, values, shape, dtype, refCount) => {
    rawMove(dataId, values, shape, dtype, refCount);
    state.scope?.push(dataId);
    if (dtype !== 'string') {
      const bytes = shape.reduce((a, d) => a * d, 1) * (dtype === 'bool' ? 1 : 4);
      state.sizes.set(dataId, bytes);
      state.liveBytes += bytes;
      if (state.liveBytes > state.peakBytes) state.peakBytes = state.liveBytes;
      if (state.liveBytes > state.peakSinceBatch) state.peakSinceBatch = state.liveBytes;
    }
  };
  // tfjs's own allocations already take `>>> 0`; tensors it registers at an address that C returned (the
  // NonMaxSuppression kernels) do not.
  const rawMakeOutput = backend.makeOutput.bind(backend);
  backend.makeOutput = (shape, dtype, memoryOffset, ...rest: unknown[]) =>
    (rawMakeOutput as (...a: unknown[]) => tf.TensorInfo)(
      shape,
      dtype,
      memoryOffset == null ? memoryOffset : memoryOffset >>> 0,
      ...rest,
    );
  const rawDispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean): boolean => {
    const freed = rawDispose(dataId, force);
    if (freed) forget(state, dataId);
    return freed;
  };
}

function forget(state: GuardState, dataId: object): void {
  const bytes = state.sizes.get(dataId);
  if (bytes === undefined) return;
  state.sizes.delete(dataId);
  state.liveBytes -= bytes;
}

/**
 * Moves the byte count of buffer `from` to `to` when one tensor entry adopts another's buffer without a free
 * (deferred outputs do).
 */
export function adoptBuffer(backend: WasmBackend, from: object, to: object): void {
  const state = guards.get(backend);
  const bytes = state?.sizes.get(from);
  if (state === undefined || bytes === undefined) return;
  state.sizes.delete(from);
  state.sizes.set(to, bytes);
}

/** What {@link wasmHeapStats} reports. */
export interface WasmHeapStats {
  /** Bytes of tensor buffers live on the heap now. */
  liveBytes: number;
  /** Most bytes of tensor buffers live at once since the previous `wasmHeapStats({ resetPeak: true })`. */
  peakBytes: number;
  /** Current size of the heap (it only grows). */
  heapBytes: number;
  /** Size the heap can grow to (wasm32: 4 GiB less one page). */
  limitBytes: number;
}

/**
 * Memory of the active wasm backend's heap (null on any other backend): tensor bytes live now and at peak, the
 * heap's size and its limit. `resetPeak` starts a new peak after reading.
 * @example
 * wasmHeapStats({ resetPeak: true }); trainStep(); console.log(wasmHeapStats()!.peakBytes / 2 ** 20, 'MiB');
 */
export function wasmHeapStats(options: { resetPeak?: boolean } = {}): WasmHeapStats | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackend;
  installHeapGuard(backend);
  const state = guards.get(backend)!;
  const stats = {
    liveBytes: state.liveBytes,
    peakBytes: state.peakBytes,
    heapBytes: heapBuffer(backend).byteLength,
    limitBytes: WASM_HEAP_LIMIT_BYTES,
  };
  if (options.resetPeak === true) state.peakBytes = state.liveBytes;
  return stats;
}

/**
 * Wraps a kernel function so that a failure inside it (a full heap, typically) frees every tensor buffer it had
 * allocated so far: the engine never saw them, so nothing else would. Views (makeView) are not tracked; they
 * own no memory. Also notes the batch of the activations conv and BatchNorm kernels see.
 */
export function withHeapScope(kernelName: string, kernelFunc: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackend;
    installHeapGuard(backend);
    const state = guards.get(backend)!;
    const x = (args.inputs as { x?: tf.TensorInfo }).x;
    if (x !== undefined && x.shape.length === 4 && x.shape[0]! > 0 && BATCH_KERNELS.has(kernelName))
      noteBatch(state, x.shape[0]!);
    const outer = state.scope === null;
    if (outer) state.scope = [];
    const start = state.scope!.length;
    try {
      return kernelFunc(args);
    } catch (e) {
      const made = state.scope!.splice(start);
      for (const dataId of made) if (backend.dataIdMap.has(dataId)) backend.disposeData(dataId, true);
      throw e;
    } finally {
      if (outer) state.scope = null;
    }
  };
}

/** `bytes` on the wasm heap (unsigned address; throws {@link WasmHeapError} when the heap is full). */
export function heapAlloc(backend: WasmBackend, bytes: number): number {
  installHeapGuard(backend);
  return backend.wasm._malloc(bytes) >>> 0;
}

/** Frees an address from {@link heapAlloc}. */
export function heapFree(backend: WasmBackend, ptr: number): void {
  backend.wasm._free(ptr);
}

/**
 * The heap's current ArrayBuffer. The memory's own `buffer` rather than emscripten's cached `HEAPU8`: with the
 * threaded build a growth on another thread leaves that cache pointing at the shorter buffer.
 */
export function heapBuffer(backend: WasmBackend): ArrayBufferLike {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  return memory !== undefined ? memory.buffer : backend.wasm.HEAPU8.buffer;
}

function checkedOffset(ptr: number): number {
  if (!Number.isInteger(ptr) || ptr < 0 || ptr > 0xffffffff) {
    throw new Error(`wasm heap address ${ptr} is not an unsigned 32-bit offset (a signed _malloc result?)`);
  }
  return ptr;
}

/** A Float32Array view of `n` floats at byte offset `ptr` (take it after any allocation: growth detaches views). */
export function heapF32(backend: WasmBackend, ptr: number, n: number): Float32Array {
  return new Float32Array(heapBuffer(backend), checkedOffset(ptr), n);
}

/** A Float64Array view of `n` doubles at byte offset `ptr`. */
export function heapF64(backend: WasmBackend, ptr: number, n: number): Float64Array {
  return new Float64Array(heapBuffer(backend), checkedOffset(ptr), n);
}

/** An Int32Array view of `n` ints at byte offset `ptr`. */
export function heapI32(backend: WasmBackend, ptr: number, n: number): Int32Array {
  return new Int32Array(heapBuffer(backend), checkedOffset(ptr), n);
}
