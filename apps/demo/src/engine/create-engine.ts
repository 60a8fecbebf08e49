import type { DemoEngine } from './demo-engine';
import type { ExecutionBackend } from './demo-result';
import { createGatedEngine } from './gated-engine';
import type { ModelFiles } from './model-files';
import { createSingleGraphEngine } from './single-graph-engine';
import { hasWebGpuAdapter } from './webgpu';

/** `auto`: WebGPU when the browser has an adapter and the session opens on it, WebAssembly otherwise. */
export type BackendChoice = 'auto' | ExecutionBackend;

/** The engine plus why it runs where it runs. */
export interface OpenedEngine {
  engine: DemoEngine;
  /** Why this backend, in words for the page (e.g. "WebGPU unavailable: no adapter"). */
  note: string;
}

/**
 * Opens verified model files on the best available execution provider: WebGPU when asked for (or `auto` and the
 * browser has an adapter), falling back to WebAssembly when the WebGPU session cannot be created. Gated exports
 * run on WebAssembly (the runtime's pipeline opens its own sessions).
 *
 * @example
 * const { engine, note } = await openEngine(await readModelFiles(files), 'auto');
 */
export async function openEngine(files: ModelFiles, choice: BackendChoice): Promise<OpenedEngine> {
  if (files.kind === 'gated') {
    return { engine: await createGatedEngine(files), note: 'gated export: the runtime pipeline runs on WebAssembly' };
  }
  if (choice === 'wasm') return { engine: await createSingleGraphEngine(files, 'wasm'), note: 'WebAssembly chosen' };
  if (!(await hasWebGpuAdapter())) {
    return {
      engine: await createSingleGraphEngine(files, 'wasm'),
      note: 'WebGPU unavailable in this browser (no adapter)',
    };
  }
  try {
    return { engine: await createSingleGraphEngine(files, 'webgpu'), note: 'WebGPU adapter found' };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return {
      engine: await createSingleGraphEngine(files, 'wasm'),
      note: `WebGPU session failed (${reason.slice(0, 120)}); fell back to WebAssembly`,
    };
  }
}
