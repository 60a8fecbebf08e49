import { createPipeline, type Pipeline } from '@multichexnet/runtime';
import type { DecodedImage } from '@multichexnet/data';
import { now, type DemoEngine, type RunOptions } from './demo-engine';
import type { ClassProbability, DemoResult, MaskOverlay } from './demo-result';
import type { ModelFiles } from './model-files';

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
  const open = (enabled: boolean): Promise<Pipeline> =>
    createPipeline({ model: { stage1: files.stage1, stage2: files.stage2 }, backend: 'web', gate: { enabled } });
  const gated = await open(files.metadata.gate !== null);
  return new GatedEngine(gated, () => open(false), now() - t);
}

class GatedEngine implements DemoEngine {
  readonly kind = 'gated' as const;
  readonly backend = 'wasm' as const;
  readonly metadata;
  // Created on first use: the same graphs with the gate switched off, for "show det/seg on every image".
  private ungated: Promise<Pipeline> | null = null;

  constructor(
    private readonly gated: Pipeline,
    private readonly openUngated: () => Promise<Pipeline>,
    readonly loadMs: number,
  ) {
    this.metadata = gated.metadata;
  }

  async run(image: DecodedImage, options: RunOptions): Promise<DemoResult> {
    const gateSpec = this.metadata.gate;
    let pipeline = this.gated;
    if (!options.gated && gateSpec !== null) pipeline = await (this.ungated ??= this.openUngated());
    const r = await pipeline.run(image);
    const probabilities: ClassProbability[] = Object.entries(r.probabilities).map(([name, probability]) => ({ name, probability }));
    probabilities.sort((a, b) => b.probability - a.probability);
    const threshold = gateSpec?.threshold ?? 0.5;
    const gate =
      gateSpec === null
        ? null
        : { probability: r.gate.probability, threshold, positive: r.gate.probability >= threshold, classes: gateSpec.source === 'cls' ? gateSpec.classes : null };
    let mask: MaskOverlay | null = null;
    if (r.mask !== null) {
      let on = 0;
      for (let i = 0; i < r.mask.data.length; i++) on += r.mask.data[i]!;
      mask = { width: r.mask.width, height: r.mask.height, data: r.mask.data, areaFraction: on / r.mask.data.length };
    }
    const decode = this.metadata.decode;
    const t = r.timings;
    return {
      probabilities,
      gate,
      detSegShown: !options.gated || gate === null || gate.positive,
      boxes: r.boxes,
      mask,
      hasDet: decode.det !== null,
      hasSeg: decode.seg !== null,
      steps: [
        { label: 'Preprocess', ms: t.preprocessMs },
        { label: 'Stage 1 (encoder, cls, gate)', ms: t.stage1Ms },
        { label: 'Stage 2 (det, seg)', ms: t.stage2Ms },
        { label: 'Decode', ms: t.decodeMs },
      ],
      totalMs: t.totalMs,
    };
  }

  async dispose(): Promise<void> {
    await this.gated.dispose();
    if (this.ungated !== null) await (await this.ungated).dispose();
  }
}
