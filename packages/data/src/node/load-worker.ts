// Worker-thread entry of createWorkerLoader: reads, decodes and fits samples off the main thread.
import { parentPort } from 'node:worker_threads';
import { DataError } from '@multichexnet/core';
import type { FileSource } from '../io/file-source';
import { loadSample, type ImageDecoder } from '../datasets/dataset';
import type { SampleEntry } from '../datasets/sample';
import { fitSample } from '../preprocess/fit-sample';
import type { PreprocessConfig } from '../preprocess/config';
import { createFsSource } from './fs-source';
import { createSharpDecoder } from './sharp-decoder';

/** A request from the main thread. */
export interface LoadRequest {
  id: number;
  root: string;
  entry: SampleEntry;
  fit: Pick<PreprocessConfig, 'size' | 'fit' | 'interpolation'>;
  voi: boolean;
  sharp: boolean;
}

const sources = new Map<string, FileSource>();
let sharpDecoder: Promise<ImageDecoder | null> | null = null;

parentPort?.on('message', (req: LoadRequest) => {
  void (async () => {
    try {
      let src = sources.get(req.root);
      if (src === undefined) {
        src = createFsSource(req.root);
        sources.set(req.root, src);
      }
      const decoder = req.sharp ? await (sharpDecoder ??= createSharpDecoder()) : null;
      const bytes = await src.read(req.entry.file);
      const sample = await loadSample(req.entry, bytes, `${req.root}/${req.entry.file}`, {
        voi: req.voi,
        decoder: decoder ?? undefined,
      });
      const fitted = fitSample(sample, req.fit);
      const transfer: ArrayBuffer[] = [fitted.image.buffer as ArrayBuffer];
      if (fitted.mask !== undefined) transfer.push(fitted.mask.buffer as ArrayBuffer);
      parentPort?.postMessage({ id: req.id, ok: true, fitted }, transfer);
    } catch (err) {
      const e = err as Error;
      parentPort?.postMessage({
        id: req.id,
        ok: false,
        error: {
          dataError: err instanceof DataError,
          message: e.message ?? String(err),
          context: err instanceof DataError ? err.context : undefined,
        },
      });
    }
  })();
});
