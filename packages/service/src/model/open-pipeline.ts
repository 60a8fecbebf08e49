import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { DataError, runFolder } from '@multichexnet/core';
import {
  CAM_OUTPUT,
  createPipeline,
  PIPELINE_FILES,
  verifyModelBytes,
  type Pipeline,
  type PipelineOptions,
} from '@multichexnet/runtime';

/** A loaded gated pipeline and the identity of its model. */
export interface LoadedPipeline {
  pipeline: Pipeline;
  /** SHA-256 of the stage-1 graph (stage 2 is bound to it): names the model in results and logs. */
  checksum: string;
}

const isFile = (p: string): Promise<boolean> =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/**
 * Where `--model` points: a run folder (holding `model.stage1.onnx` and, with det/seg heads, `model.stage2.onnx`),
 * a stage-1 file (its stage 2 is taken from the same folder), or a run folder's single-graph `model.onnx`, which
 * is replaced by the gated pair beside it (the single graph runs every head on every image: no gate).
 */
export async function resolvePipelineFiles(model: string): Promise<{ stage1: string; stage2: string | null }> {
  const info = await stat(model).catch((e: unknown) => {
    throw new DataError(
      'Model not found',
      { file: model, expected: 'a run folder or a model.stage1.onnx file', found: (e as Error).message },
      { cause: e },
    );
  });
  const dir = info.isDirectory() ? model : dirname(model);
  const folder = runFolder(dir);
  const pair = async (stage1: string) => ({ stage1, stage2: (await isFile(folder.stage2)) ? folder.stage2 : null });
  if (info.isDirectory()) {
    if (await isFile(folder.stage1)) return pair(folder.stage1);
    throw new DataError('Run folder has no pipeline model', {
      file: model,
      expected: `${PIPELINE_FILES.stage1} (written by exportPipeline / writePipelineFiles)`,
      found: 'no such file',
    });
  }
  const { metadata } = await verifyModelBytes(new Uint8Array(await readFile(model)), model);
  if (metadata.role === 'stage1') return pair(model);
  if (metadata.role === 'model' && (await isFile(folder.stage1))) return pair(folder.stage1);
  throw new DataError('Model is not the first stage of a gated pipeline', {
    file: basename(model),
    field: 'multichexnet.role',
    expected: `stage1 (${PIPELINE_FILES.stage1}, written by exportPipeline / writePipelineFiles), or a run folder holding it`,
    found: metadata.role,
  });
}

/**
 * Loads the gated inference pipeline for `--model` (see {@link resolvePipelineFiles}) on onnxruntime-node.
 * `everyMap`: a model that carries class activation maps returns every class's map with each result (a client then
 * picks the ones it asks for); a model without maps loads as it is.
 *
 * @example
 * const { pipeline, checksum } = await openPipeline('runs/exp1', { threads: 1 });
 */
export async function openPipeline(
  model: string,
  options: Omit<PipelineOptions, 'backend'> & { everyMap?: boolean } = {},
): Promise<LoadedPipeline> {
  const { everyMap = false, ...pipelineOptions } = options;
  const files = await resolvePipelineFiles(model);
  const stage1 = new Uint8Array(await readFile(files.stage1));
  const { checksum, metadata } = await verifyModelBytes(stage1, files.stage1);
  const stage2 = files.stage2 === null ? null : new Uint8Array(await readFile(files.stage2));
  const maps = everyMap && metadata.outputs.some((o) => o.name === CAM_OUTPUT);
  const pipeline = await createPipeline({
    model: { stage1, stage2 },
    backend: 'node',
    ...pipelineOptions,
    ...(maps ? { cam: { classes: 'all' as const } } : {}),
  });
  return { pipeline, checksum };
}
