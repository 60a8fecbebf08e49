import { DataError, FEATURE_LEVELS, parseConfig, serializeBlock, tf, z, type Block, type EncoderFeatures, type FeatureLevel } from '@multichexnet/core';
import { addDetDecode, type AnchorShape } from '../export/det-decode-graph';
import { exportWithExtension, type ExportReport } from '../export/export-onnx';
import { PreprocessConfigSchema } from '@multichexnet/data/decode';
import { GateSpecSchema, type DecodeSpec } from '../model/metadata';
import { nodePath } from '../model/node-only';
import { oodExtension, oodOutputs } from './ood-export';
import { TemperatureSpecSchema, calibratedDecode } from './calibration';
import { OodExportSchema } from './ood';

type Sym = tf.SymbolicTensor;
type AnyBlock = Block<unknown, unknown, unknown>;

/** The encoder as the pipeline exporter uses it: image [B, H, W, Cin] NHWC -> {c2..c5}. */
export interface PipelineEncoder extends AnyBlock {
  readonly layersModel: tf.LayersModel;
  readonly config: { readonly inputChannels: number };
  /** Symbolic features {c2, c3, c4, c5} [B, H/s, W/s, C_l], NHWC, s = 4/8/16/32, of a symbolic image [B, H, W, Cin]. */
  apply(x: Sym): EncoderFeatures<Sym>;
}

/** A head over the encoder features, returning one symbolic tensor. */
export interface PipelineHead extends AnyBlock {
  readonly layersModel: tf.LayersModel;
  /** The head's symbolic output (cls [B, C], det [B, S_h, S_w, K*5], seg [B, H, W, 1]) of symbolic features c2..c5. */
  apply(features: EncoderFeatures<Sym>): Sym;
}

/** CheXCls: logits [B, C], pre-sigmoid, classes in `config.classes` order. */
export interface PipelineClsHead extends PipelineHead {
  readonly config: { readonly classes: readonly string[] };
}

/** CheXDet: raw [B, S_h, S_w, K*5] (tx, ty, tw, th, objectness per anchor), anchors as image fractions. */
export interface PipelineDetHead extends PipelineHead {
  readonly anchors: readonly AnchorShape[];
  readonly config: { readonly decode?: { scoreThreshold: number; nmsIoU: number; maxDetections: number } };
}

/** CheXSeg: mask logits [B, H, W, 1] NHWC, pre-sigmoid. */
export interface PipelineSegHead extends PipelineHead {
  readonly config: { readonly threshold?: number };
}

/** The trained blocks of a MultiCheXNet model. */
export interface PipelineBlocks {
  encoder: PipelineEncoder;
  cls: PipelineClsHead;
  det?: PipelineDetHead;
  seg?: PipelineSegHead;
  /** A dedicated binary gate head (logit [B, 1]); without it the gate reads the cls probabilities. */
  gate?: PipelineHead;
}

/** Options of {@link exportPipeline}. */
export const ExportPipelineOptionsSchema = z
  .object({
    /**
     * @multichexnet/data's preprocessing config exactly as in training; its `size` is the network input side
     * (a multiple of 32; default 256).
     */
    preprocessing: PreprocessConfigSchema.prefault({}),
    /**
     * The gate. Default: `{ source: 'cls', classes: <Pneumonia and Pneumothorax among the cls classes>,
     * threshold: 0.5 }`, or `{ source: 'output', output: 'gate_prob' }` when a gate block is given.
     */
    gate: GateSpecSchema.optional(),
    foldBatchNorm: z.boolean().default(true),
    opset: z.number().int().min(13).max(17).default(17),
    /** Extra versions to record (package name -> version). */
    versions: z.record(z.string(), z.string()).default({}),
    /**
     * Decision settings recorded in `metadata.decode` over the heads' own decode configs, e.g. those chosen on
     * validation data: det score threshold (NMS, maximum boxes), seg threshold and minimum mask area (pixels of
     * the model-input grid), per-class cls thresholds. Settings of a head the model lacks are ignored.
     */
    decode: z
      .object({
        det: z.object({ scoreThreshold: z.number().min(0).max(1), nmsIoU: z.number().min(0).max(1), maxDetections: z.number().int().positive() }).partial().strict().optional(),
        seg: z.object({ threshold: z.number().gt(0).lt(1), minArea: z.number().int().min(0) }).partial().strict().optional(),
        cls: z.object({ thresholds: z.record(z.string(), z.number().min(0).max(1)) }).strict().optional(),
      })
      .strict()
      .optional(),
    /**
     * OOD refusal (pipeline/ood.ts): the statistics fitted on training films and the threshold chosen on validation
     * films; stage 1 (and the single graph) then also output `ood_features` and `ood_score`.
     */
    ood: OodExportSchema.optional(),
    /** Temperatures fitted on validation data (pipeline/calibration.ts), recorded for the runtime to apply. */
    temperature: TemperatureSpecSchema.optional(),
  })
  .strict();
export type ExportPipelineOptions = z.input<typeof ExportPipelineOptionsSchema>;
type ExportPipelineOptionsOutput = z.output<typeof ExportPipelineOptionsSchema>;

/** The two graphs of a gated pipeline. */
export interface PipelineModels {
  /** image -> cls_probs, gate_prob, encoder features (NCHW, for stage 2). */
  stage1: Uint8Array;
  /** encoder features -> det_boxes, det_scores, det_raw, seg_mask; null when the model has no det/seg head. */
  stage2: Uint8Array | null;
  reports: { stage1: ExportReport; stage2: ExportReport | null };
}

/** The default gate classes: the findings the det and seg heads look for. */
export const DEFAULT_GATE_CLASSES = ['Pneumonia', 'Pneumothorax'] as const;

/** Name of the stage-1 output carrying feature level `level` (NCHW). */
export const featureOutputName = (level: FeatureLevel): string => `feat_${level}`;

/**
 * Exports a trained MultiCheXNet as the two ONNX graphs of the gated pipeline, so the encoder runs once per image:
 *
 * - stage 1: `image` [B, H, W, Cin] NHWC -> `cls_probs` [B, C] (sigmoid in the graph), `gate_prob` [B], and the
 *   encoder features `feat_c2..feat_c5` [B, C_l, H_l, W_l] NCHW that the stage-2 heads read (NCHW because
 *   they only go from one graph to the other: no transposes on either side);
 * - stage 2: those features -> `det_boxes` [B, N, 4], `det_scores` [B, N] (YOLOv2 decoding in the graph),
 *   `det_raw` [B, S, S, K*5] NHWC, `seg_mask` [B, H, W, 1] NHWC probabilities (sigmoid in the graph).
 *
 * Stage 2 records the checksum of its stage 1 (`pairedWith`), so mismatched files are refused together.
 *
 * @example
 * const models = await exportPipeline({ encoder, cls, det, seg }, { preprocessing: { size: 256 } });
 * await writePipelineFiles('runs/exp1', models);   // model.stage1.onnx, model.stage2.onnx
 */
export async function exportPipeline(blocks: PipelineBlocks, options: ExportPipelineOptions): Promise<PipelineModels> {
  const opts = parseConfig(ExportPipelineOptionsSchema, options, 'pipeline export options');
  const height = opts.preprocessing.size;
  const width = height;
  const { encoder, cls, det, seg, gate: gateBlock } = blocks;
  for (const role of ['encoder', 'cls', 'det', 'seg', 'gate'] as const) {
    const b = blocks[role] as AnyBlock | undefined;
    if (b !== undefined && !((b as { layersModel?: unknown }).layersModel instanceof tf.LayersModel)) {
      throw new DataError('Pipeline block is not a layer block', { field: role, expected: 'a block with a layersModel', found: typeof b });
    }
  }
  const classNames = [...cls.config.classes];
  const gate = resolveGate(opts.gate, classNames, gateBlock !== undefined, det !== undefined || seg !== undefined);
  const preprocessing = opts.preprocessing;
  const versions = opts.versions;

  // Stage 1: image -> cls (+ gate) and the features stage 2 will read.
  const image = tf.input({ shape: [height, width, encoder.config.inputChannels] });
  const features = encoder.apply(image);
  const stage2 = det !== undefined || seg !== undefined ? buildStage2(features, det, seg) : null;
  const s1Outputs: Sym[] = [cls.apply(features)];
  const s1Specs: { name: string; activation: 'none' | 'sigmoid'; layout: 'NHWC' | 'NCHW'; description: string }[] = [
    { name: 'cls_probs', activation: 'sigmoid', layout: 'NHWC', description: `[B, ${classNames.length}] sigmoid probabilities, classes in metadata classNames order` },
  ];
  if (gateBlock !== undefined) {
    s1Outputs.push(gateBlock.apply(features));
    s1Specs.push({ name: 'gate_prob', activation: 'sigmoid', layout: 'NHWC', description: '[B, 1] gate probability (dedicated gate head)' });
  }
  for (const level of stage2?.levels ?? []) {
    s1Outputs.push(features[level]);
    s1Specs.push({ name: featureOutputName(level), activation: 'none', layout: 'NCHW', description: `encoder feature ${level}, NCHW, input of stage 2` });
  }
  const ood = oodOutputs(opts.ood, features, s1Outputs, s1Specs); // OOD refusal: pooled features (pipeline/ood-export.ts)
  const stage1Model = tf.model({ inputs: image, outputs: s1Outputs });
  const blockSpecs = [encoder, cls, ...(gateBlock ? [gateBlock] : []), ...(det ? [det] : []), ...(seg ? [seg] : [])].map((b) => serializeBlock(b));
  const decode = calibratedDecode(decodeSpecOf(det, seg, opts.decode, classNames), opts.temperature); // thresholds on the calibrated scale
  const s1 = await exportWithExtension(
    stage1Model,
    {
      outputs: s1Specs,
      foldBatchNorm: opts.foldBatchNorm,
      opset: opts.opset,
      graphName: 'multichexnet_stage1',
      metadata: { role: 'stage1', classNames, preprocessing, blocks: blockSpecs, versions, gate, decode, ...ood.metadata, ...temperatureOf(opts, classNames) },
    },
    oodExtension(opts.ood, null),
  );
  if (stage2 === null) return { stage1: s1.bytes, stage2: null, reports: { stage1: s1, stage2: null } };

  // Stage 2: features (NCHW, as stage 1 writes them) -> det boxes/scores and seg mask probabilities.
  const s2Outputs: { name: string; activation: 'none' | 'sigmoid'; layout: 'NHWC'; description: string }[] = [];
  if (det) s2Outputs.push({ name: 'det_raw', activation: 'none', layout: 'NHWC', description: 'raw CheXDet output [B, S_h, S_w, K*5], NHWC' });
  if (seg) s2Outputs.push({ name: 'seg_mask', activation: 'sigmoid', layout: 'NHWC', description: '[B, H, W, 1] foreground probabilities, NHWC' });
  const s2 = await exportWithExtension(
    stage2.model,
    {
      inputs: stage2.levels.map((level) => ({ name: featureOutputName(level), layout: 'NCHW' as const })),
      outputs: s2Outputs,
      foldBatchNorm: opts.foldBatchNorm,
      opset: opts.opset,
      graphName: 'multichexnet_stage2',
      metadata: { role: 'stage2', classNames, preprocessing, blocks: blockSpecs, versions, gate, decode, pairedWith: s1.checksum, ...ood.metadata, ...temperatureOf(opts, classNames) },
    },
    det ? (gb, outs) => addDetDecode(gb, outs.get('det_raw')!, det.anchors, { width, height }) : null,
  );
  return { stage1: s1.bytes, stage2: s2.bytes, reports: { stage1: s1, stage2: s2 } };
}

/**
 * Exports a trained MultiCheXNet as ONE ONNX graph (role `model`, the run folder's `model.onnx`): `image` ->
 * `cls_probs`, `gate_prob`, `det_raw`, `det_boxes`, `det_scores`, `seg_mask`, every head on every image (no
 * gating). For Python/C++ users, tools such as Netron, and the one-pass multi-task benchmark; the gated pipeline
 * uses {@link exportPipeline}.
 *
 * @example
 * await writeOnnxFile('runs/exp1/model.onnx', await exportModel({ encoder, cls, det, seg }, { preprocessing: { size: 256 } }));
 */
export async function exportModel(blocks: PipelineBlocks, options: ExportPipelineOptions): Promise<Uint8Array> {
  return (await exportModelWithReport(blocks, options)).bytes;
}

/** {@link exportModel} with the export report (operator counts, metadata, checksum). */
export async function exportModelWithReport(blocks: PipelineBlocks, options: ExportPipelineOptions): Promise<ExportReport> {
  const opts = parseConfig(ExportPipelineOptionsSchema, options, 'model export options');
  const height = opts.preprocessing.size;
  const width = height;
  const { encoder, cls, det, seg, gate: gateBlock } = blocks;
  const classNames = [...cls.config.classes];
  const image = tf.input({ shape: [height, width, encoder.config.inputChannels] });
  const features = encoder.apply(image);
  const outputs: Sym[] = [cls.apply(features)];
  const specs: { name: string; activation: 'none' | 'sigmoid'; layout: 'NHWC'; description: string }[] = [
    { name: 'cls_probs', activation: 'sigmoid', layout: 'NHWC', description: `[B, ${classNames.length}] sigmoid probabilities, classes in metadata classNames order` },
  ];
  if (gateBlock) {
    outputs.push(gateBlock.apply(features));
    specs.push({ name: 'gate_prob', activation: 'sigmoid', layout: 'NHWC', description: '[B, 1] gate probability (dedicated gate head)' });
  }
  if (det) {
    outputs.push(det.apply(features));
    specs.push({ name: 'det_raw', activation: 'none', layout: 'NHWC', description: 'raw CheXDet output [B, S_h, S_w, K*5], NHWC' });
  }
  if (seg) {
    outputs.push(seg.apply(features));
    specs.push({ name: 'seg_mask', activation: 'sigmoid', layout: 'NHWC', description: '[B, H, W, 1] foreground probabilities, NHWC' });
  }
  const ood = oodOutputs(opts.ood, features, outputs, specs); // OOD refusal: pooled features (pipeline/ood-export.ts)
  return exportWithExtension(
    tf.model({ inputs: image, outputs }),
    {
      outputs: specs,
      foldBatchNorm: opts.foldBatchNorm,
      opset: opts.opset,
      graphName: 'multichexnet',
      metadata: {
        role: 'model',
        classNames,
        preprocessing: opts.preprocessing,
        blocks: [encoder, cls, ...(gateBlock ? [gateBlock] : []), ...(det ? [det] : []), ...(seg ? [seg] : [])].map((b) => serializeBlock(b)),
        versions: opts.versions,
        gate: resolveGate(opts.gate, classNames, gateBlock !== undefined, det !== undefined || seg !== undefined),
        decode: calibratedDecode(decodeSpecOf(det, seg, opts.decode, classNames), opts.temperature),
        ...ood.metadata,
        ...temperatureOf(opts, classNames),
      },
    },
    oodExtension(opts.ood, det ? (gb, outs) => addDetDecode(gb, outs.get('det_raw')!, det.anchors, { width, height }) : null),
  );
}

/** The `temperature` metadata entry, when the export records one (its classes must be the cls head's). */
function temperatureOf(opts: ExportPipelineOptionsOutput, classNames: readonly string[]): { temperature?: z.output<typeof TemperatureSpecSchema> } {
  if (opts.temperature === undefined) return {};
  const unknown = Object.keys(opts.temperature.cls).filter((c) => !classNames.includes(c));
  if (unknown.length > 0) {
    throw new DataError('Temperatures name a class the cls head does not have', { field: 'temperature.cls', expected: `classes among ${classNames.join(', ')}`, found: unknown.join(', ') });
  }
  return { temperature: opts.temperature };
}

function decodeSpecOf(det: PipelineDetHead | undefined, seg: PipelineSegHead | undefined, chosen: ExportPipelineOptionsOutput['decode'], classNames: readonly string[]): DecodeSpec {
  const unknown = Object.keys(chosen?.cls?.thresholds ?? {}).filter((c) => !classNames.includes(c));
  if (unknown.length > 0) {
    throw new DataError('Decode thresholds name a class the cls head does not have', { field: 'decode.cls.thresholds', expected: `classes among ${classNames.join(', ')}`, found: unknown.join(', ') });
  }
  return {
    det: det ? { scoreThreshold: 0.25, nmsIoU: 0.5, maxDetections: 10, ...(det.config.decode ?? {}), ...definedOnly(chosen?.det) } : null,
    seg: seg ? { threshold: chosen?.seg?.threshold ?? seg.config.threshold ?? 0.5, ...(chosen?.seg?.minArea !== undefined ? { minArea: chosen.seg.minArea } : {}) } : null,
    ...(chosen?.cls !== undefined ? { cls: { thresholds: { ...chosen.cls.thresholds } } } : {}),
  };
}

/** The keys set to a value (`{ nmsIoU: undefined }` keeps the head's own setting). */
function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function resolveGate(
  gate: z.output<typeof GateSpecSchema> | undefined,
  classNames: string[],
  hasGateBlock: boolean,
  hasLocalisation: boolean,
): z.output<typeof GateSpecSchema> | null {
  if (gate !== undefined) return gate;
  if (hasGateBlock) return { source: 'output', output: 'gate_prob', threshold: 0.5 };
  const classes = DEFAULT_GATE_CLASSES.filter((c) => classNames.includes(c));
  // A classifier alone (e.g. fine-tuned to COVID-19 classes) has no det/seg stage for a gate to guard.
  if (classes.length === 0 && !hasLocalisation) return null;
  if (classes.length === 0) {
    throw new DataError('No gate given and the cls head has neither Pneumonia nor Pneumothorax', {
      field: 'gate',
      expected: "a gate spec, e.g. { source: 'cls', classes: [...], threshold: 0.5 }",
      found: `classes ${classNames.join(', ')}`,
    });
  }
  return { source: 'cls', classes: [...classes], threshold: 0.5 };
}

/**
 * The stage-2 model: fresh inputs for exactly the feature levels the det/seg heads read (recorded as the heads
 * access them), shaped like the stage-1 features.
 */
function buildStage2(
  features: EncoderFeatures<Sym>,
  det: PipelineDetHead | undefined,
  seg: PipelineSegHead | undefined,
): { model: tf.LayersModel; levels: FeatureLevel[] } {
  const inputs = new Map<FeatureLevel, Sym>();
  const lazy = {} as EncoderFeatures<Sym>;
  for (const level of FEATURE_LEVELS) {
    Object.defineProperty(lazy, level, {
      enumerable: true,
      get: () => {
        let t = inputs.get(level);
        if (t === undefined) {
          t = tf.input({ shape: features[level].shape.slice(1) as number[] });
          inputs.set(level, t);
        }
        return t;
      },
    });
  }
  const outputs: Sym[] = [];
  if (det) outputs.push(det.apply(lazy));
  if (seg) outputs.push(seg.apply(lazy));
  const levels = FEATURE_LEVELS.filter((l) => inputs.has(l));
  return { model: tf.model({ inputs: levels.map((l) => inputs.get(l)!), outputs }), levels };
}

/** File names inside a run folder: the two graphs of the gated pipeline, and the single graph of {@link exportModel}. */
export const PIPELINE_FILES = { stage1: 'model.stage1.onnx', stage2: 'model.stage2.onnx', model: 'model.onnx' } as const;

/**
 * Writes the pipeline graphs into `dir` (atomically, folders created): `model.stage1.onnx` and, when present,
 * `model.stage2.onnx`. Node only.
 */
export async function writePipelineFiles(dir: string, models: Pick<PipelineModels, 'stage1' | 'stage2'>): Promise<{ stage1: string; stage2: string | null }> {
  const { join } = await nodePath();
  const { writeOnnxFile } = await import('../export/write-onnx-file');
  const stage1 = join(dir, PIPELINE_FILES.stage1);
  await writeOnnxFile(stage1, models.stage1);
  let stage2: string | null = null;
  if (models.stage2 !== null) {
    stage2 = join(dir, PIPELINE_FILES.stage2);
    await writeOnnxFile(stage2, models.stage2);
  }
  return { stage1, stage2 };
}
