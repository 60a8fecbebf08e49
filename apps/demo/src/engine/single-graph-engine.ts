import { CAM_OUTPUT, createPipeline } from '@multichexnet/runtime';
import { now, type DemoEngine } from './demo-engine';
import type { ExecutionBackend } from './demo-result';
import type { ModelFiles } from './model-files';
import { PipelineEngine } from './pipeline-engine';

/**
 * Opens a single-graph `model.onnx` (image -> cls_probs, gate_prob, det_boxes/det_scores, seg_mask) with
 * @multichexnet/runtime's pipeline on onnxruntime-web and the given execution provider.
 *
 * @example
 * const engine = await createSingleGraphEngine(files, 'wasm');
 * const result = await engine.run(decodeImage(bytes, 'x.png'), { gated: true });
 */
export async function createSingleGraphEngine(
  files: Extract<ModelFiles, { kind: 'single' }>,
  backend: ExecutionBackend,
): Promise<DemoEngine> {
  const t = now();
  // The graph runs every head on every image, so the gate saves nothing here: one pipeline with the gate off
  // serves both settings of the page's Gate switch, and the engine hides det/seg behind a negative gate.
  // every class's activation map, when the model has them: the page toggles them per class
  const cam = files.metadata.outputs.some((o) => o.name === CAM_OUTPUT) ? { cam: { classes: 'all' as const } } : {};
  const pipeline = await createPipeline({
    model: { model: files.bytes },
    backend: 'web',
    executionProviders: [backend],
    gate: { enabled: false },
    ...cam,
    ...(files.metadata.ood !== null ? { ood: 'flag' as const } : {}),
  });
  const outputs = new Set(files.metadata.outputs.map((o) => o.name));
  const heads = {
    det: (files.metadata.decode.det ?? null) !== null && outputs.has('det_boxes'),
    seg: (files.metadata.decode.seg ?? null) !== null && outputs.has('seg_mask'),
  };
  const engine = new PipelineEngine(
    'single',
    backend,
    { gated: pipeline, ungated: () => Promise.resolve(pipeline) },
    heads,
    0,
  );
  // One pass on a blank image: the first run pays for kernel set-up and memory planning, which would otherwise
  // show up as the user's first inference time.
  const S = files.metadata.preprocessing?.size ?? 256;
  await engine.run({ width: S, height: S, data: new Uint8Array(S * S), maxValue: 255 }, { gated: true });
  engine.loadMs = now() - t;
  return engine;
}
