/**
 * Deferred kernel outputs: a result that is computed only if something reads it.
 *
 * tfjs's fused conv2d op (what tf.layers.conv2d runs) has a custom gradient that always computes the input gradient
 * dx, even for the first layer, whose input is the image and whose dx is thrown away. For a 7x7 stem that costs as
 * much as its forward pass. A deferred output is a tensor entry with no memory yet; the computation runs the first
 * time any kernel, read or move looks the tensor up (every access goes through the backend's dataIdMap.get, which
 * is wrapped here), and is dropped, with the references it held, if the tensor is disposed first.
 *
 * Only for results that are normally consumed right away (an input gradient feeds the next backprop step), so
 * holding the inputs until then costs no memory; filter gradients wait for the optimizer and are never deferred.
 */
import { tf } from '../../tf';
import { adoptBuffer } from './heap';
import { sizeOf, type WasmBackend } from './wasm-backend';

interface Pending {
  run(): void;
  cancel(): void;
}

interface Entry {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

interface Hooked {
  pending: Map<object, Pending>;
  rawGet(dataId: object): Entry | undefined;
}

const hooked = new WeakMap<object, Hooked>();

type Storage = {
  get(dataId: object): Entry | undefined;
  set(dataId: object, value: Entry): void;
  delete(dataId: object): boolean;
};

/** Wraps the backend's tensor lookup and disposal once, so deferred outputs run on first access. */
function hook(backend: WasmBackend): Hooked {
  let h = hooked.get(backend);
  if (h !== undefined) return h;
  const storage = backend.dataIdMap as unknown as Storage;
  const rawGet = storage.get.bind(storage);
  const pending = new Map<object, Pending>();
  // Bookkeeping calls (refcounts) must not trigger a computation.
  let quiet = 0;
  storage.get = (dataId: object) => {
    if (quiet === 0 && pending.size > 0) {
      const p = pending.get(dataId);
      if (p !== undefined) {
        pending.delete(dataId);
        p.run();
      }
    }
    return rawGet(dataId);
  };
  const rawDispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean) => {
    const p = pending.get(dataId);
    quiet++;
    try {
      const freed = rawDispose(dataId, force);
      if (freed && p !== undefined) {
        pending.delete(dataId);
        p.cancel();
      }
      return freed;
    } finally {
      quiet--;
    }
  };
  for (const method of ['incRef', 'refCount'] as const) {
    const raw = (backend[method] as (dataId: object) => unknown).bind(backend);
    (backend as unknown as Record<string, (dataId: object) => unknown>)[method] = (dataId: object) => {
      quiet++;
      try {
        return raw(dataId);
      } finally {
        quiet--;
      }
    };
  }
  h = { pending, rawGet };
  hooked.set(backend, h);
  return h;
}

/** Drops one backend reference of a kernel input; tells the engine when that freed the buffer. */
function releaseInput(backend: WasmBackend, t: tf.TensorInfo): void {
  if (backend.disposeData(t.dataId)) {
    (tf.engine() as unknown as { removeDataId(dataId: object, b: unknown): void }).removeDataId(t.dataId, backend);
  }
}

/**
 * A float32 output of `shape` that `compute` fills only when first read. `compute` runs later with `inputs` still
 * alive (they are referenced until then) and returns a fresh tensor whose buffer the deferred output adopts.
 */
export function deferOutput(
  backend: WasmBackend,
  shape: number[],
  inputs: tf.TensorInfo[],
  compute: () => tf.TensorInfo,
): tf.TensorInfo {
  const h = hook(backend);
  const b = backend as unknown as { dataIdNextNumber: number };
  const id = b.dataIdNextNumber++;
  const dataId = { id };
  const storage = backend.dataIdMap as unknown as Storage;
  // No memory and no C-side registration until it runs; disposing it as it is frees nothing (free(0) is a no-op).
  storage.set(dataId, { id, memoryOffset: 0, shape, dtype: 'float32', refCount: 1 });
  for (const t of inputs) backend.incRef(t.dataId);
  const tfjs = (
    backend.wasm as unknown as {
      tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
    }
  ).tfjs;
  h.pending.set(dataId, {
    run: () => {
      const result = compute();
      const r = h.rawGet(result.dataId)!;
      const mine = h.rawGet(dataId)!;
      // Adopt the result's buffer: register it under our id, forget the result's entry without freeing it.
      mine.memoryOffset = r.memoryOffset;
      tfjs.registerTensor(id, sizeOf(shape), r.memoryOffset);
      tfjs.disposeData(r.id);
      storage.delete(result.dataId);
      adoptBuffer(backend, result.dataId, dataId);
      for (const t of inputs) releaseInput(backend, t);
    },
    cancel: () => {
      for (const t of inputs) releaseInput(backend, t);
    },
  });
  return { dataId, shape, dtype: 'float32' };
}

/** Number of deferred outputs not yet computed (for tests). */
export function pendingOutputs(backend: WasmBackend): number {
  return hooked.get(backend)?.pending.size ?? 0;
}
