/** Folder (relative to the page) where the build puts onnxruntime-web's .wasm/.mjs files; see vite.config.ts. */
export const ORT_ASSET_DIR = 'ort/';

/**
 * Points onnxruntime-web at the copies of its WebAssembly files that the app serves itself, so no file is ever
 * fetched from a CDN. Must run before the first session is created. onnxruntime-web is imported here the way
 * @multichexnet/runtime imports it, on first use, so the bundler keeps it in one lazily loaded chunk.
 *
 * @example
 * await configureOrt(document.baseURI);
 */
export async function configureOrt(pageUrl: string): Promise<{ wasmPaths: string; threads: number }> {
  const { env } = await import('onnxruntime-web');
  const wasmPaths = new URL(ORT_ASSET_DIR, pageUrl).href;
  env.wasm.wasmPaths = wasmPaths;
  // Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (the server sends
  // COOP/COEP); elsewhere onnxruntime would warn and fall back, so ask for one thread outright.
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 1 : 1;
  env.wasm.numThreads = isolated ? Math.max(1, Math.min(4, cores)) : 1;
  return { wasmPaths, threads: env.wasm.numThreads };
}
