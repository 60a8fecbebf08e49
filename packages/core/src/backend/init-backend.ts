import { tf } from '../tf';
import { log } from '../log';
import { registerWasmTrainingKernels } from './kernels/register';
import { defaultWasmThreads, installThreadedWasm } from './wasm-threads';
import { compileSimdKernels, relaxedSimdActive } from './simd/simd-kernels';
import { memoryOf, type WasmBackend } from './kernels/wasm-backend';
import { startSimdPool } from './kernels/kernel-context';
import { installHeapGuard } from './kernels/heap';

/** Backends MultiCheXNet can run on. `auto` picks the fastest available. */
export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'webgl' | 'webgpu' | 'cpu';

/** Options of {@link initBackend}. */
export interface BackendOptions {
  /**
   * wasm in Node: XNNPACK threads (the threaded-SIMD build on worker_threads). Default: env
   * MULTICHEXNET_WASM_THREADS, else every logical core (at most 8); 1 keeps the single-threaded build. Only
   * effective before the wasm backend is first created in the process.
   */
  threads?: number;
}

/** The outcome of {@link initBackend}. */
export interface BackendInfo {
  /** The backend now active. */
  name: Exclude<BackendName, 'auto'>;
  /** Why it was chosen, in words (also logged once). */
  reason: string;
  /** wasm: threads XNNPACK uses; other backends: 1. */
  threads: number;
  /** wasm: whether MultiCheXNet's kernels use relaxed-SIMD fused multiply-add (Node 20: set at run time). */
  relaxedSimd: boolean;
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
let current: BackendInfo | null = null;
let loggedOnce = false;

async function tryImport(specifier: string): Promise<boolean> {
  try {
    // Indirect specifier: bundlers must not try to resolve the optional peer at build time.
    const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;
    await dynamicImport(specifier);
    return true;
  } catch {
    return false;
  }
}

const TENSORFLOW_HINT =
  "The 'tensorflow' backend needs the native TensorFlow binding, an optional peer dependency that MultiCheXNet " +
  'never installs itself. Install one of them next to your project (it downloads libtensorflow, so the machine ' +
  'needs access to storage.googleapis.com):\n' +
  '  npm install @tensorflow/tfjs-node@4.22.0        # CPU\n' +
  '  npm install @tensorflow/tfjs-node-gpu@4.22.0    # NVIDIA GPU with CUDA 11.2 + cuDNN 8.1\n' +
  "or use initBackend('wasm'), which needs nothing extra.";

async function initTensorflow(): Promise<string | null> {
  if (await tryImport('@tensorflow/tfjs-node-gpu')) return '@tensorflow/tfjs-node-gpu is installed';
  if (await tryImport('@tensorflow/tfjs-node')) return '@tensorflow/tfjs-node is installed';
  return null;
}

async function initWasm(options: BackendOptions): Promise<{ threads: number; relaxedSimd: boolean }> {
  await import('@tensorflow/tfjs-backend-wasm');
  let ok = false;
  if (isNode) {
    const restore = await installThreadedWasm(options.threads ?? (await defaultWasmThreads()));
    if (restore !== null) {
      try {
        ok = await tf.setBackend('wasm');
      } catch {
        ok = false;
      }
      if (!ok) {
        log.warn('wasm: the threaded backend failed to start; using the single-threaded build');
        restore();
      }
    }
  }
  if (!ok) ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('The wasm backend failed to initialise');
  await tf.ready();
  const memory = memoryOf(tf.backend() as WasmBackend);
  if (memory !== null) await compileSimdKernels(memory);
  registerWasmTrainingKernels();
  // A full heap throws a WasmHeapError naming the batch that fits, instead of tfjs writing at address 0.
  installHeapGuard(tf.backend() as WasmBackend);
  const wasmMod = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as { getThreadsCount?: () => number };
  const threads = wasmMod.getThreadsCount?.() ?? 1;
  // Our SIMD kernels get as many threads as XNNPACK (helpers exist only with the shared heap of the threaded build).
  if (threads > 1) await startSimdPool(tf.backend() as WasmBackend, threads);
  return { threads, relaxedSimd: relaxedSimdActive() };
}

/**
 * Selects and initialises the tfjs backend, once per process (later calls with the same name are free).
 *
 * - `auto`: `tensorflow` when `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` can be imported (the user's
 *   own install), else `wasm` in Node with the project's training kernels, else in browsers `webgpu`, `webgl`,
 *   `wasm`, `cpu` in that order.
 * - `tensorflow` when neither binding is installed fails with instructions to install one.
 * - `wasm` in Node runs XNNPACK on `options.threads` worker threads (default: every core), see {@link BackendOptions}.
 *
 * @returns the backend chosen and why; the reason is logged once.
 * @example
 * const { name } = await initBackend();   // 'wasm' on a plain Node install
 */
export async function initBackend(name: BackendName = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  if (current !== null && (name === 'auto' || name === current.name) && tf.getBackend() === current.name) {
    return current;
  }
  let info: BackendInfo;
  if (name === 'tensorflow' || (name === 'auto' && isNode)) {
    const why = await initTensorflow();
    if (why !== null) {
      await tf.setBackend('tensorflow');
      await tf.ready();
      info = { name: 'tensorflow', reason: why, threads: 1, relaxedSimd: false };
    } else if (name === 'tensorflow') {
      throw new Error(TENSORFLOW_HINT);
    } else {
      info = {
        name: 'wasm',
        reason: 'Node without @tensorflow/tfjs-node(-gpu): wasm backend with MultiCheXNet training kernels',
        ...(await initWasm(options)),
      };
    }
  } else if (name === 'wasm') {
    info = { name: 'wasm', reason: 'requested', ...(await initWasm(options)) };
  } else if (name === 'cpu') {
    await tf.setBackend('cpu');
    await tf.ready();
    info = { name: 'cpu', reason: 'requested (reference backend, slow)', threads: 1, relaxedSimd: false };
  } else if (name === 'webgl' || name === 'webgpu') {
    if (name === 'webgpu') await tryImport('@tensorflow/tfjs-backend-webgpu');
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`The ${name} backend is not available in this environment`);
    await tf.ready();
    info = { name, reason: 'requested', threads: 1, relaxedSimd: false };
  } else {
    // auto in a browser
    let chosen: BackendInfo | null = null;
    for (const candidate of ['webgpu', 'webgl'] as const) {
      try {
        if (candidate === 'webgpu' && !(await tryImport('@tensorflow/tfjs-backend-webgpu'))) continue;
        if (await tf.setBackend(candidate)) {
          await tf.ready();
          chosen = { name: candidate, reason: `browser with ${candidate}`, threads: 1, relaxedSimd: false };
          break;
        }
      } catch {
        /* try the next one */
      }
    }
    if (chosen === null) {
      try {
        chosen = { name: 'wasm', reason: 'browser without webgpu/webgl', ...(await initWasm(options)) };
      } catch {
        await tf.setBackend('cpu');
        chosen = { name: 'cpu', reason: 'no faster backend available', threads: 1, relaxedSimd: false };
      }
    }
    info = chosen;
  }
  current = info;
  if (!loggedOnce) {
    loggedOnce = true;
    log.info(
      `backend ${info.name} (${info.reason}${info.threads > 1 ? `, ${info.threads} threads` : ''}${info.relaxedSimd ? ', relaxed SIMD' : ''})`,
    );
  }
  return info;
}

/** The backend chosen by the last {@link initBackend}, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}
