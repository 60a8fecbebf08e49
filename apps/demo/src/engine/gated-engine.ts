import { CAM_OUTPUT, createPipeline, type Pipeline } from '@multichexnet/runtime';
import { now, type DemoEngine } from './demo-engine';
import type { ModelFiles } from './model-files';
import { PipelineEngine } from './pipeline-engine';

/**
 * Opens the two graphs of a gated export with @multichexnet/runtime's pipeline: the encoder, cls and gate run
 * once, det/seg only for images the gate passes, on the cached encoder features. The pipeline runs on the wasm
 * execution provider.
 *
 * @example
 * const engine = await createGatedEngine(files);
 */
export async function createGatedEngine(files: Extract<ModelFiles, { kind: 'gated' }>): Promise<DemoEngine> {
  const t = now();
  // every class's activation map, when the model has them: the page toggles them per class
  const cam = files.metadata.outputs.some((o) => o.name === CAM_OUTPUT) ? { cam: { classes: 'all' as const } } : {};
  const open = (enabled: boolean): Promise<Pipeline> =>
    createPipeline({
      model: { stage1: files.stage1, stage2: files.stage2 },
      backend: 'web',
      gate: { enabled },
      ...cam,
      ...(files.metadata.ood !== null ? { ood: 'flag' as const } : {}),
    });
  const gated = await open(files.metadata.gate !== null);
  const { decode } = files.metadata;
  // A head the model lacks has no decode entry (null in files written before the task table).
  const heads = {
    det: (decode.det ?? null) !== null && files.stage2 !== null,
    seg: (decode.seg ?? null) !== null && files.stage2 !== null,
  };
  // The same graphs with the gate switched off, opened on first use, for "show det/seg on every image".
  return new PipelineEngine('gated', 'wasm', { gated, ungated: () => open(false) }, heads, now() - t);
}
