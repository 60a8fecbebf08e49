import type { DecodedImage } from '@multichexnet/data/decode';
import type { ModelMetadata, Pipeline } from '@multichexnet/runtime';
import type { DemoEngine, RunOptions } from './demo-engine';
import type {
  ClassProbability,
  DemoResult,
  ExecutionBackend,
  GateDecision,
  MaskOverlay,
  TimedStep,
} from './demo-result';

/** The pipelines behind an engine: the one gated runs use, and (opened on first use) one with the gate off. */
export interface EnginePipelines {
  gated: Pipeline;
  ungated: () => Promise<Pipeline>;
}

/**
 * A DemoEngine over @multichexnet/runtime's pipeline, which preprocesses and decodes (probabilities, gate, boxes
 * and mask in original pixels) for both kinds of model file; this class only shapes its result for the page.
 */
export class PipelineEngine implements DemoEngine {
  readonly metadata: ModelMetadata;
  private ungated: Promise<Pipeline> | null = null;

  constructor(
    readonly kind: 'single' | 'gated',
    readonly backend: ExecutionBackend,
    private readonly pipelines: EnginePipelines,
    /** Whether the model file(s) hold the det / seg outputs (a gated export may come without its stage 2). */
    private readonly heads: { det: boolean; seg: boolean },
    public loadMs: number,
  ) {
    this.metadata = pipelines.gated.metadata;
  }

  async run(image: DecodedImage, options: RunOptions): Promise<DemoResult> {
    const gateSpec = this.metadata.gate;
    const pipeline =
      !options.gated && gateSpec !== null ? await (this.ungated ??= this.pipelines.ungated()) : this.pipelines.gated;
    const r = await pipeline.run(image);
    // The pipelines flag OOD images (see gated-engine / single-graph-engine); the page's switch decides refusal.
    const refused = options.refuseOod !== false && r.ood?.outOfDistribution === true;
    const probabilities: ClassProbability[] = refused
      ? []
      : Object.entries(r.probabilities ?? {}).map(([name, probability]) => ({ name, probability }));
    probabilities.sort((a, b) => b.probability - a.probability);
    const gate: GateDecision | null =
      gateSpec === null
        ? null
        : {
            probability: r.gate.probability,
            threshold: gateSpec.threshold,
            positive: r.gate.probability >= gateSpec.threshold,
            classes: gateSpec.source === 'cls' ? gateSpec.classes : null,
          };
    // A single graph computes det/seg for every image; the page shows them only where the gate would pass them.
    const detSegShown = !refused && (!options.gated || gate === null || gate.positive);
    let mask: MaskOverlay | null = null;
    if (detSegShown && r.mask !== undefined && r.mask !== null) {
      let on = 0;
      for (let i = 0; i < r.mask.data.length; i++) on += r.mask.data[i]!;
      mask = { width: r.mask.width, height: r.mask.height, data: r.mask.data, areaFraction: on / r.mask.data.length };
    }
    const t = r.timings;
    const steps: TimedStep[] =
      this.kind === 'single'
        ? [
            { label: 'Preprocess', ms: t.preprocessMs },
            { label: 'Model (all heads)', ms: t.stage1Ms },
            { label: 'Decode', ms: t.decodeMs },
          ]
        : [
            { label: 'Preprocess', ms: t.preprocessMs },
            { label: 'Stage 1 (encoder, cls, gate)', ms: t.stage1Ms },
            { label: 'Stage 2 (det, seg)', ms: t.stage2Ms },
            { label: 'Decode', ms: t.decodeMs },
          ];
    return {
      probabilities,
      gate,
      detSegShown,
      boxes: detSegShown ? (r.boxes ?? []) : [],
      mask,
      hasDet: this.heads.det,
      hasSeg: this.heads.seg,
      cams: refused ? null : (r.cams ?? null),
      steps,
      totalMs: t.totalMs,
      ood: r.ood ?? null,
      refused,
      calibrated: r.calibrated === true,
    };
  }

  async dispose(): Promise<void> {
    await this.pipelines.gated.dispose();
    if (this.ungated !== null) {
      const ungated = await this.ungated;
      if (ungated !== this.pipelines.gated) await ungated.dispose();
    }
  }
}
