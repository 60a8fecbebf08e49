import { DataError } from '@multichexnet/core/base';
import type * as Ort from 'onnxruntime-web';
import { importNodeOnly } from './node-only';

/** Which onnxruntime runs a model: native `node` (onnxruntime-node) or `web` (onnxruntime-web, wasm). */
export type OrtBackend = 'node' | 'web';

/** The slice of onnxruntime's InferenceSession this package uses (identical in onnxruntime-node and -web). */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Ort.Tensor>, fetches?: readonly string[]): Promise<Record<string, Ort.Tensor>>;
  release(): Promise<void>;
}

/** The onnxruntime module in use (`Tensor` constructor and `InferenceSession` factory). */
export interface OrtModule {
  Tensor: typeof Ort.Tensor;
  InferenceSession: typeof Ort.InferenceSession;
  env: typeof Ort.env;
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

// onnxruntime-node is a native addon that browser builds must not try to resolve.
const NODE_ONLY_ORT = ['onnxruntime', 'node'].join('-');

const modules = new Map<OrtBackend, Promise<OrtModule>>();

/** The backend `auto` means here: native in Node, wasm in browsers. */
export function resolveBackend(backend: OrtBackend | 'auto'): OrtBackend {
  return backend === 'auto' ? (isNode ? 'node' : 'web') : backend;
}

/** Imports (once) the onnxruntime package of a backend. */
export function ortModule(backend: OrtBackend): Promise<OrtModule> {
  let m = modules.get(backend);
  if (m === undefined) {
    m = (async () => {
      try {
        if (backend === 'node') {
          if (!isNode) throw new Error('onnxruntime-node runs in Node only');
          const mod = (await importNodeOnly(NODE_ONLY_ORT)) as OrtModule & { default?: OrtModule };
          return mod.InferenceSession !== undefined ? mod : mod.default!;
        }
        const mod = (await import('onnxruntime-web')) as unknown as OrtModule & { default?: OrtModule };
        return mod.InferenceSession !== undefined ? mod : mod.default!;
      } catch (e) {
        modules.delete(backend);
        throw new DataError(
          `Cannot load onnxruntime for the '${backend}' backend`,
          {
            field: backend === 'node' ? 'onnxruntime-node' : 'onnxruntime-web',
            expected: 'the package installed (it is a dependency of @multichexnet/runtime)',
            found: (e as Error).message,
          },
          { cause: e },
        );
      }
    })();
    modules.set(backend, m);
  }
  return m;
}

/** Options for creating a session. */
export interface SessionOptions {
  /** Intra-op threads: native threads for `node`, wasm threads for `web` (1 = no worker threads). */
  threads?: number;
  /** Execution providers in preference order (default: `cpu` for node, `wasm` for web). */
  executionProviders?: string[];
  /** `web` only: URL prefix of onnxruntime-web's .wasm files, when they are not served next to the bundle. */
  wasmPaths?: string;
}

/** Creates an inference session from ONNX bytes. */
export async function createSession(
  backend: OrtBackend,
  bytes: Uint8Array,
  options: SessionOptions = {},
): Promise<OrtSessionLike> {
  const ort = await ortModule(backend);
  const threads = options.threads;
  if (backend === 'web') {
    // Set before the first session: the wasm module starts its thread pool once.
    if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
    if (threads !== undefined) ort.env.wasm.numThreads = threads;
    else if (isNode && ort.env.wasm.numThreads === undefined) ort.env.wasm.numThreads = 1;
  }
  const sessionOptions: Ort.InferenceSession.SessionOptions = {
    executionProviders: options.executionProviders ?? [backend === 'node' ? 'cpu' : 'wasm'],
    graphOptimizationLevel: 'all',
    ...(backend === 'node' && threads !== undefined ? { intraOpNumThreads: threads } : {}),
  };
  return (await ort.InferenceSession.create(bytes, sessionOptions)) as unknown as OrtSessionLike;
}
