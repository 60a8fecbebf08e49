import { DataError, MODEL_SPEC_FILE, runFolder } from '@multichexnet/core';
import type { PreprocessConfigInput } from '@multichexnet/data';
import { loadMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import { cloneModel } from './clone-model';

/** A source model and what its run folder says about its input. */
export interface ResolvedSource {
  model: MultiCheXNet;
  /** Where it was loaded from (null for an in-memory model). */
  dir: string | null;
  /** Network input side recorded next to it (plan.json / transfer.json), if any. */
  imageSize?: number;
  /** Preprocessing recorded next to it, if any. */
  preprocess?: Omit<PreprocessConfigInput, 'size'>;
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  const fs = await import('node:fs/promises');
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * The folder holding `model.json` for a path that is either a weights folder (`model.save`) or a run folder
 * with `weights/` (a trainer run, a fine-tuning run).
 */
export async function modelFolderOf(path: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  for (const dir of [path, runFolder(path).weights]) {
    try {
      await fs.access(join(dir, MODEL_SPEC_FILE));
      return dir;
    } catch {
      /* next */
    }
  }
  throw new DataError('No MultiCheXNet model in this folder', {
    file: path,
    expected: 'a model folder (model.json + .safetensors files) or a run folder with weights/',
    found: 'neither',
  });
}

/**
 * Loads (or copies) the model to fine-tune. A path is loaded from disk, and the `imageSize` and `preprocess` of
 * the run that trained it are read from `plan.json` or `transfer.json` in the folder or its parent. An in-memory
 * model is cloned, so fine-tuning never changes the caller's model.
 */
export async function resolveSource(from: string | MultiCheXNet): Promise<ResolvedSource> {
  if (typeof from !== 'string') {
    if (from === null || typeof from !== 'object' || typeof (from as MultiCheXNet).blocks !== 'function') {
      throw new DataError('fineTune needs a source model', {
        field: 'from',
        expected: 'a MultiCheXNet or the path of a saved one',
        found: String(from),
      });
    }
    return { model: await cloneModel(from), dir: null };
  }
  const { dirname } = await import('node:path');
  const dir = await modelFolderOf(from);
  const model = await loadMultiCheXNet(dir);
  const out: ResolvedSource = { model, dir };
  for (const folder of [dir, dirname(dir)]) {
    for (const file of [runFolder(folder).transfer, runFolder(folder).plan]) {
      const json = await readJson(file);
      if (json === null) continue;
      if (typeof json.imageSize === 'number') out.imageSize = json.imageSize;
      if (json.preprocess !== null && typeof json.preprocess === 'object')
        out.preprocess = json.preprocess as Omit<PreprocessConfigInput, 'size'>;
      if (out.imageSize !== undefined) return out;
    }
  }
  return out;
}
