/**
 * Multi-threaded tfjs wasm backend in Node. tfjs-backend-wasm 4.22.0 ships a threaded-SIMD build but never uses it
 * in Node (tfjs issue #3830): its feature flag says "no threads" under Node, its loader hands the pthread worker a
 * blob: URL that worker_threads cannot open, and its C side caps threads at (logical cores / 2). This module
 * registers a `wasm` backend factory that loads that same build properly:
 *
 * - the emscripten loader and the pthread worker script are written to a private temp folder as plain files,
 *   because Node workers start from a file path;
 * - three literals of the loader are patched: the core count it reports (so the /2 cap leaves every core usable),
 *   the size of its pre-spawned worker pool (the threads we need instead of 8 idle Node workers) and the worker
 *   options (no inherited execArgv, so a parent's loader hooks never touch the plain worker script);
 * - the backend object is the stock `BackendWasm`, so every stock kernel and ours run unchanged on it.
 *
 * The pool's workers are unref'd once the backend has started them, so they never keep a process alive;
 * `disposeWasmThreads` (called on process exit) terminates them explicitly.
 */
import { tf } from '../tf';
import { log } from '../log';

type NodeRequire = (id: string) => unknown;
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread?: { terminateAllThreads(): void; runningWorkers: { unref?: () => void }[] };
  [k: string]: unknown;
}
type EmscriptenFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;
interface WasmPackage {
  BackendWasm: new (module: EmscriptenModule) => tf.KernelBackend;
  setThreadsCount(n: number): void;
}

// Literals of wasm-out/tfjs-backend-wasm-threaded-simd.js (4.22.0) that the patch rewrites; checked before use.
const CORES_LITERAL = 'return require("os").cpus().length';
const POOL_LITERAL = 'var pthreadPoolSize=8;';
const WORKER_LITERAL = 'worker=new Worker(pthreadMainJs)';

// Node-only modules load lazily (this file is part of a bundle that browsers load too).
const dynamicImport = (s: string): Promise<Record<string, unknown>> =>
  import(/* @vite-ignore */ s) as Promise<Record<string, unknown>>;

let liveModule: EmscriptenModule | null = null;
let exitHookInstalled = false;

/** Threads a Node process should use by default: MULTICHEXNET_WASM_THREADS, else every logical core (at most 8). */
export async function defaultWasmThreads(): Promise<number> {
  const env = typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_WASM_THREADS'] : undefined;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1) return Math.min(n, 8);
  }
  const os = (await dynamicImport('node:os')) as { cpus(): unknown[]; availableParallelism?: () => number };
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return Math.max(1, Math.min(8, cores));
}

/** Terminates the pthread workers of the threaded backend, if one was created. Safe to call more than once. */
export function disposeWasmThreads(): void {
  const m = liveModule;
  liveModule = null;
  try {
    m?.PThread?.terminateAllThreads();
  } catch {
    /* already gone */
  }
}

async function writePrivateFiles(
  threads: number,
): Promise<{ factoryPath: string; workerPath: string; wasmPath: string }> {
  const { createRequire } = (await dynamicImport('node:module')) as {
    createRequire(u: string): NodeRequire & { resolve(id: string): string };
  };
  const fs = (await dynamicImport('node:fs')) as unknown as typeof import('node:fs');
  const path = (await dynamicImport('node:path')) as unknown as typeof import('node:path');
  const os = (await dynamicImport('node:os')) as unknown as typeof import('node:os');
  const crypto = (await dynamicImport('node:crypto')) as unknown as typeof import('node:crypto');
  const req = createRequire(import.meta.url);
  const pkgDir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const outDir = path.join(pkgDir, 'wasm-out');
  const loader = fs.readFileSync(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js'), 'utf8');
  if (!loader.includes(CORES_LITERAL) || !loader.includes(POOL_LITERAL) || !loader.includes(WORKER_LITERAL)) {
    throw new Error('unexpected tfjs-backend-wasm threaded loader (is @tensorflow/tfjs-backend-wasm exactly 4.22.0?)');
  }
  const patched = loader
    .replace(CORES_LITERAL, 'return 2*require("os").cpus().length')
    .replace(POOL_LITERAL, `var pthreadPoolSize=${threads};`)
    // A worker inherits the parent's execArgv; loader hooks there (tsx, ts-node) must not touch the plain CJS
    // worker script.
    .replace(WORKER_LITERAL, 'worker=new Worker(pthreadMainJs,{execArgv:[]})');
  const { wasmWorkerContents } = req(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The script is embedded in a template literal, which turned its "\\n" escapes into real newlines (all inside
  // string literals of the one-line minified script): restore them, as tfjs's own loader does.
  const workerScript = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = crypto.createHash('sha256').update(patched).update(workerScript).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `multichexnet-wasm-${hash}`);
  fs.mkdirSync(dir, { recursive: true });
  const factoryPath = path.join(dir, 'loader.cjs');
  const workerPath = path.join(dir, 'worker.cjs');
  // Write-then-rename: concurrent processes may race here, and a reader must never see a half-written file.
  for (const [file, text] of [
    [factoryPath, patched],
    [workerPath, workerScript],
  ] as const) {
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) continue;
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return { factoryPath, workerPath, wasmPath: path.join(outDir, 'tfjs-backend-wasm-threaded-simd.wasm') };
}

async function createThreadedBackend(threads: number): Promise<tf.KernelBackend> {
  const { createRequire } = (await dynamicImport('node:module')) as { createRequire(u: string): NodeRequire };
  const req = createRequire(import.meta.url);
  const files = await writePrivateFiles(threads);
  const factory = req(files.factoryPath) as EmscriptenFactory;
  const module = await factory({
    locateFile: (p: string, prefix: string) =>
      p.endsWith('.worker.js') ? files.workerPath : p.endsWith('.wasm') ? files.wasmPath : prefix + p,
    mainScriptUrlOrBlob: files.factoryPath,
  });
  module['tfjs'] = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  const wasmPkg = (await dynamicImport('@tensorflow/tfjs-backend-wasm')) as unknown as WasmPackage & {
    default?: WasmPackage;
  };
  const pkg = wasmPkg.BackendWasm !== undefined ? wasmPkg : wasmPkg.default!;
  pkg.setThreadsCount(threads);
  liveModule = module;
  const backend = new pkg.BackendWasm(module);
  // The backend just started XNNPACK's pool threads, and emscripten ref()s the worker of every running pthread:
  // they idle in Atomics.wait forever, so Node would never exit. The main thread only waits for them inside a
  // synchronous kernel call, never across the event loop, so they can be unref'd safely.
  for (const worker of module.PThread?.runningWorkers ?? []) worker.unref?.();
  return backend;
}

/**
 * Replaces the `wasm` backend factory by the threaded one (Node only). Must run before the wasm backend is first
 * used; the caller then does `tf.setBackend('wasm')`. Returns a function that puts the stock factory back (for
 * when the threaded backend fails to start), or null when threads cannot work here: no SharedArrayBuffer, a
 * single thread requested, or a wasm backend already alive (replacing it would orphan its tensors).
 */
export async function installThreadedWasm(threads: number): Promise<(() => void) | null> {
  if (threads <= 1 || typeof SharedArrayBuffer === 'undefined') return null;
  await dynamicImport('@tensorflow/tfjs-backend-wasm');
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  if (registry['wasm'] !== undefined) return null;
  const stock = tf.findBackendFactory('wasm');
  if (stock === null) return null;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => createThreadedBackend(threads), 2);
  if (!exitHookInstalled && typeof process !== 'undefined' && typeof process.once === 'function') {
    exitHookInstalled = true;
    process.once('exit', disposeWasmThreads);
  }
  return () => {
    disposeWasmThreads();
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', stock, 2);
  };
}
