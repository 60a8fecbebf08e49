/**
 * Runs the SIMD kernels on more than one core. XNNPACK has its own thread pool, but our AssemblyScript kernels
 * (BatchNorm, pooling gradients, the single-channel convolutions, im2col) ran on the main thread only. With the
 * threaded backend the heap is a shared WebAssembly.Memory, so worker_threads can instantiate the same kernels on
 * it and each take a slice of the work (rows, images or columns: disjoint outputs, or private accumulators the
 * caller adds up).
 *
 * Hand-off is a SharedArrayBuffer per worker: the main thread writes the function index and arguments, bumps a
 * sequence number and notifies; the worker runs its part and notifies back. The main thread runs the first part
 * itself, then waits (Atomics.wait is allowed on Node's main thread), so a call costs a few tens of microseconds:
 * callers only split work above a size threshold. Workers are unref'd (a process exits on its own) and terminated
 * on exit. Node only; anywhere else, and whenever the workers do not come up, kernels simply run on one thread.
 */
import type { SimdKernels } from './simd-kernels';

type KernelName = keyof SimdKernels;

// Control block layout (Int32 slots): 0 = job sequence, 1 = done sequence, 2 = function index (-1: exit),
// 3 = argument count, 4 = error flag, 5 = ready flag. Arguments: Float64 from byte 64.
const SEQ = 0;
const DONE = 1;
const FN = 2;
const ARGC = 3;
const ERR = 4;
const READY = 5;
const MAX_ARGS = 24;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, names } = workerData;
const i32 = new Int32Array(ctrl);
const args = new Float64Array(ctrl, 64, ${MAX_ARGS});
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
Atomics.store(i32, ${READY}, 1);
Atomics.notify(i32, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(i32, ${SEQ}, seen);
  seen = Atomics.load(i32, ${SEQ});
  const fn = Atomics.load(i32, ${FN});
  if (fn < 0) break;
  try {
    ex[names[fn]](...Array.from(args.subarray(0, i32[${ARGC}])));
    i32[${ERR}] = 0;
  } catch (e) {
    i32[${ERR}] = 1;
  }
  Atomics.store(i32, ${DONE}, seen);
  Atomics.notify(i32, ${DONE});
}
`;

interface PoolWorker {
  worker: { terminate(): Promise<number>; unref(): void };
  i32: Int32Array;
  args: Float64Array;
}

/** A fixed set of helper threads sharing the heap; part 0 of every call runs on the calling thread. */
export class SimdPool {
  private readonly names: KernelName[];
  private constructor(
    private readonly local: SimdKernels,
    private readonly workers: PoolWorker[],
    names: KernelName[],
  ) {
    this.names = names;
  }

  /** Threads a call can use (helpers + the calling thread). */
  get size(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs `fn` once per argument list, concurrently; parts[0] on this thread. The parts must write disjoint memory.
   */
  run<K extends KernelName>(fn: K, parts: Parameters<SimdKernels[K]>[]): void {
    const n = Math.min(parts.length, this.size);
    const index = this.names.indexOf(fn);
    for (let i = 1; i < n; i++) {
      const w = this.workers[i - 1]!;
      const a = parts[i]! as number[];
      w.args.set(a);
      Atomics.store(w.i32, ARGC, a.length);
      Atomics.store(w.i32, FN, index);
      Atomics.add(w.i32, SEQ, 1);
      Atomics.notify(w.i32, SEQ);
    }
    const call = this.local[fn] as (...a: number[]) => void;
    for (let i = n; i < parts.length; i++) call(...(parts[i] as number[]));
    call(...(parts[0] as number[]));
    let failed = false;
    for (let i = 1; i < n; i++) {
      const w = this.workers[i - 1]!;
      const seq = Atomics.load(w.i32, SEQ);
      for (;;) {
        const done = Atomics.load(w.i32, DONE);
        if (done === seq) break;
        Atomics.wait(w.i32, DONE, done, 1000);
      }
      failed ||= w.i32[ERR] === 1;
    }
    if (failed) throw new Error(`SIMD kernel ${String(fn)} failed on a helper thread`);
  }

  /** Stops the helper threads. */
  dispose(): void {
    for (const w of this.workers) {
      Atomics.store(w.i32, FN, -1);
      Atomics.add(w.i32, SEQ, 1);
      Atomics.notify(w.i32, SEQ);
      void w.worker.terminate();
    }
    this.workers.length = 0;
  }

  /**
   * Starts `threads - 1` helpers on `memory` (which must be shared), or returns null when that is not possible
   * here. Waits up to 5 s for them to come up.
   */
  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    local: SimdKernels,
    threads: number,
  ): Promise<SimdPool | null> {
    if (threads < 2 || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer))
      return null;
    if (typeof process === 'undefined' || process.versions?.node === undefined) return null;
    let WorkerCtor: new (src: string, opts: object) => PoolWorker['worker'];
    try {
      const wt = (await import(/* @vite-ignore */ 'node:worker_threads' as string)) as { Worker: typeof WorkerCtor };
      WorkerCtor = wt.Worker;
    } catch {
      return null;
    }
    const names = Object.keys(local).filter(
      (k) => typeof (local as unknown as Record<string, unknown>)[k] === 'function',
    ) as KernelName[];
    const workers: PoolWorker[] = [];
    for (let i = 0; i < threads - 1; i++) {
      const ctrl = new SharedArrayBuffer(64 + MAX_ARGS * 8);
      const worker = new WorkerCtor(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, ctrl, names },
        execArgv: [],
      });
      worker.unref();
      workers.push({ worker, i32: new Int32Array(ctrl), args: new Float64Array(ctrl, 64, MAX_ARGS) });
    }
    const deadline = Date.now() + 5000;
    for (const w of workers) {
      while (Atomics.load(w.i32, READY) !== 1) {
        if (Date.now() > deadline) {
          for (const x of workers) void x.worker.terminate();
          return null;
        }
        // Yield to the event loop: a worker's start-up can need it.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const pool = new SimdPool(local, workers, names);
    process.once('exit', () => pool.dispose());
    return pool;
  }
}

/** [start, end) ranges splitting n items into at most `parts` pieces of at least `min` items. */
export function splitRange(n: number, parts: number, min = 1): [number, number][] {
  const k = Math.max(1, Math.min(parts, Math.floor(n / Math.max(1, min))));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) out.push([Math.floor((n * i) / k), Math.floor((n * (i + 1)) / k)]);
  return out;
}
