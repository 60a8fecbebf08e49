import { existsSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataError } from '@multichexnet/core';
import { loadFittedInThread, type SampleLoader } from '../batching/batch-stream';
import type { FittedSample } from '../preprocess/fit-sample';
import type { LoadRequest } from './load-worker';

/** A {@link SampleLoader} backed by worker threads; `close()` stops them. */
export interface WorkerLoader extends SampleLoader {
  close(): Promise<void>;
  readonly threads: number;
}

type Reply =
  | { id: number; ok: true; fitted: FittedSample }
  | { id: number; ok: false; error: { dataError: boolean; message: string; context?: DataError['context'] } };

function workerScript(): URL | null {
  // next to this module when running the build; the build output when running from src (tests)
  for (const rel of ['./load-worker.js', '../../dist/node/load-worker.js']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return null;
}

/**
 * A {@link SampleLoader} that reads, decodes and resizes samples on worker threads, so a training loop that
 * keeps the main thread busy (wasm kernels) is not slowed by decoding. Datasets whose root is not a folder
 * on disk (memory sources) are loaded in-thread. Needs the package build (`dist/node/load-worker.js`).
 *
 * @example
 * const loader = createWorkerLoader({ threads: 2, sharp: true });
 * const stream = createBatchStream({ datasets: rsna, loader, batchSize: 16 });
 * ...
 * await loader.close();
 */
export function createWorkerLoader(options: { threads?: number; sharp?: boolean } = {}): WorkerLoader {
  const threads = Math.max(1, options.threads ?? Math.max(1, cpus().length - 1));
  const script = workerScript();
  if (script === null) {
    throw new DataError('Worker script not found', {
      file: 'dist/node/load-worker.js',
      expected: 'the built package (npm run build)',
      found: 'no build output',
    });
  }
  const workers: { w: Worker; busy: number }[] = [];
  const pending = new Map<
    number,
    { resolve: (f: FittedSample) => void; reject: (e: unknown) => void; slot: { w: Worker; busy: number } }
  >();
  let nextId = 0;
  const spawn = (): { w: Worker; busy: number } => {
    // the build resolves packages by their published entry points: drop any `source` condition a test runner set
    const execArgv = process.execArgv.filter(
      (a, i, all) =>
        !a.startsWith('--conditions') && !a.startsWith('-C') && !/^(--conditions|-C)$/.test(all[i - 1] ?? ''),
    );
    const slot = { w: new Worker(script, { execArgv }), busy: 0 };
    slot.w.unref();
    slot.w.on('message', (r: Reply) => {
      const p = pending.get(r.id);
      if (p === undefined) return;
      pending.delete(r.id);
      if (--slot.busy === 0) slot.w.unref();
      if (r.ok) p.resolve(r.fitted);
      else
        p.reject(
          r.error.dataError
            ? Object.assign(new DataError(r.error.message), { context: r.error.context ?? {} })
            : new Error(r.error.message),
        );
    });
    slot.w.on('error', (err) => {
      for (const [id, p] of pending) {
        if (p.slot === slot) {
          pending.delete(id);
          p.reject(err);
        }
      }
    });
    return slot;
  };
  for (let i = 0; i < threads; i++) workers.push(spawn());

  const loader = (async (dataset, index, fit) => {
    const root = dataset.root;
    if (!existsSync(root) || !statSync(root).isDirectory()) return loadFittedInThread(dataset, index, fit);
    const slot = workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = nextId++;
    const req: LoadRequest = {
      id,
      root,
      entry: dataset.entry(index),
      fit,
      voi: dataset.voi,
      sharp: options.sharp === true,
    };
    return new Promise<FittedSample>((resolve, reject) => {
      pending.set(id, { resolve, reject, slot });
      if (slot.busy++ === 0) slot.w.ref();
      slot.w.postMessage(req);
    });
  }) as WorkerLoader;
  Object.defineProperty(loader, 'threads', { value: threads });
  loader.close = async () => {
    await Promise.all(workers.map((s) => s.w.terminate()));
  };
  return loader;
}
