import {
  DataError,
  FEATURE_LEVELS,
  parseConfig,
  serializeBlock,
  tf,
  z,
  type AnyTaskSpec,
  type Block,
  type EncoderFeatures,
  type FeatureLevel,
  type OnnxTensorSpec,
  type TaskHead,
} from '@multichexnet/core';
import { PreprocessConfigSchema } from '@multichexnet/data/decode';
import { camExportOutput } from './cam-output';
import { OodExportSchema, oodExportOutput, oodExtension } from './ood-output';
import { calibratedDecode } from './temperature';
import {
  GateSpecSchema,
  PIPELINE_FILES,
  TemperatureSpecSchema,
  featureOutputName,
  type DecodeSpec,
  type GateSpec,
  type OodSpec,
  type TemperatureSpec,
} from '@multichexnet/runtime/format';
import { exportWithExtension, type ExportReport, type GraphExtension } from '../export-onnx';
import { writeOnnxFile } from '../write-onnx-file';

type Sym = tf.SymbolicTensor;
type AnyBlock = Block<unknown, unknown, unknown>;

/** The encoder as the pipeline exporter uses it: image [B, H, W, Cin] NHWC -> {c2..c5}. */
export interface PipelineEncoder extends AnyBlock {
  readonly layersModel: tf.LayersModel;
  readonly config: { readonly inputChannels: number };
  /** Symbolic features {c2, c3, c4, c5} [B, H/s, W/s, C_l], NHWC, s = 4/8/16/32, of a symbolic image [B, H, W, Cin]. */
  apply(x: Sym): EncoderFeatures<Sym>;
}

/** A binary-head gate's head: logit [B, 1] of the encoder features. */
export interface PipelineGateHead extends AnyBlock {
  readonly layersModel: tf.LayersModel;
  apply(features: EncoderFeatures<Sym>): Sym;
}

/** A gate as the exporter reads it (`@multichexnet/gating`'s Gate satisfies it). */
export interface PipelineGate {
  readonly config:
    | { readonly kind: 'cls-path'; readonly task: string; readonly classes: readonly string[] }
    | { readonly kind: 'binary-head' };
  readonly threshold: number;
  readonly head: PipelineGateHead | null;
}

/**
 * What the exporter reads from a trained model (`@multichexnet/model`'s MultiCheXNet satisfies it): the encoder, the
 * task specs and heads of its tasks (any subset of the task table), the gate.
 */
export interface PipelineModel {
  readonly encoder: PipelineEncoder;
  readonly taskSpecs: readonly AnyTaskSpec[];
  readonly heads: Readonly<Record<string, TaskHead>>;
  readonly gate: PipelineGate | null;
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
     * The gate. Default: the model's own (a cls-path gate reads its task's probabilities in the graph; a binary-head
     * gate writes `gate_prob`); for a model without one that has routed tasks, `{ source: 'cls', classes: <Pneumonia
     * and Pneumothorax among the classes> }` when its classifier has them, else none (an ungated export).
     */
    gate: GateSpecSchema.optional(),
    foldBatchNorm: z.boolean().default(true),
    opset: z.number().int().min(13).max(17).default(17),
    /** Add the `cls_cam` output: CheXCls's class activation maps [B, C, h, w] NCHW (off: the graph is unchanged). */
    cam: z.boolean().default(false),
    /** Extra versions to record (package name -> version). */
    versions: z.record(z.string(), z.string()).default({}),
    /**
     * Decision settings recorded in `metadata.decode` over the heads' own, by task, e.g. those chosen on validation
     * data: `{ det: { scoreThreshold }, seg: { minArea }, cls: { thresholds } }`; each task's decoder checks them.
     * Settings of a task the model lacks are ignored.
     */
    decode: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    /**
     * Out-of-distribution refusal: the statistics fitted on training films (@multichexnet/trainer's
     * fitOodStatistics) and the threshold chosen on validation films; stage 1 (and the single graph) then also output
     * `ood_features` and `ood_score`, and `metadata.ood` records the threshold. Reads the encoder only: any subset of
     * heads takes it.
     */
    ood: OodExportSchema.optional(),
    /**
     * Temperatures fitted on validation data, by task (`{ split: 'val', tasks: { cls: { temperature: { Mass: 1.4 },
     * samples }, det: { temperature: 1.2, samples } } }`), recorded for the runtime to apply; the recorded decision
     * thresholds move onto the calibrated scale with them (same decisions). What a task's temperature applies to comes
     * from its decoder's calibration in the task table.
     */
    temperature: TemperatureSpecSchema.optional(),
  })
  .strict();
export type ExportPipelineOptions = z.input<typeof ExportPipelineOptionsSchema>;
type ResolvedOptions = z.output<typeof ExportPipelineOptionsSchema>;

/** The two graphs of a gated pipeline. */
export interface PipelineModels {
  /** image -> the unrouted tasks' outputs (cls_probs), gate_prob, encoder features (NCHW, for stage 2). */
  stage1: Uint8Array;
  /** encoder features -> the routed tasks' outputs (det_raw, det_boxes, det_scores, seg_mask); null without any. */
  stage2: Uint8Array | null;
  reports: { stage1: ExportReport; stage2: ExportReport | null };
}

/** The default gate classes: the findings the det and seg heads look for. */
export const DEFAULT_GATE_CLASSES = ['Pneumonia', 'Pneumothorax'] as const;

type OutputSpec = { name: string; activation: 'none' | 'sigmoid'; layout: 'NHWC' | 'NCHW'; description: string };

/** What every graph of one export shares: the model's tasks and their recorded settings, the gate, the classes. */
interface ExportPlan {
  opts: ResolvedOptions;
  size: { width: number; height: number };
  specs: readonly AnyTaskSpec[];
  classNames: string[];
  gate: GateSpec | null;
  decode: DecodeSpec;
  blocks: { className: string; config: unknown }[];
  /** `metadata.temperature` (present only when given). */
  temperature: { temperature?: TemperatureSpec };
}

/** The metadata every graph of one export records, whatever its role. */
function commonMetadata(plan: ExportPlan) {
  const { opts, classNames, gate, decode, blocks, temperature } = plan;
  return {
    classNames,
    preprocessing: opts.preprocessing,
    blocks,
    versions: opts.versions,
    gate,
    decode,
    ...temperature,
  };
}

function planExport(model: PipelineModel, options: ExportPipelineOptions, what: string): ExportPlan {
  const opts = parseConfig(ExportPipelineOptionsSchema, options, what);
  const specs = model.taskSpecs;
  for (const [role, b] of [
    ['encoder', model.encoder],
    ...specs.map((s) => [s.name, model.heads[s.name]]),
    ['gate', model.gate?.head ?? undefined],
  ] as [string, AnyBlock | undefined][]) {
    if (b !== undefined && !((b as { layersModel?: unknown }).layersModel instanceof tf.LayersModel)) {
      throw new DataError('Pipeline block is not a layer block', {
        field: role,
        expected: 'a block with a layersModel',
        found: typeof b,
      });
    }
  }
  if (specs.length === 0 && model.gate?.head == null)
    throw new DataError('The model has no head to export', {
      field: 'heads',
      expected: 'at least one task head',
      found: 'none',
    });
  // The class list of the model: the gate's task's, else the first unrouted task with classes (the classifier).
  const gateTask = model.gate?.config.kind === 'cls-path' ? model.gate.config.task : null;
  const classTask = specs.find((s) => s.name === gateTask) ?? specs.find((s) => !s.routed && s.classesOf !== undefined);
  const classNames = classTask?.classesOf !== undefined ? [...classTask.classesOf(model.heads[classTask.name])] : [];
  const decode: DecodeSpec = {};
  for (const spec of specs)
    decode[spec.name] = spec.decoder.settings(spec.decodeSettings(model.heads[spec.name]), opts.decode?.[spec.name]);
  const blocks = [
    model.encoder,
    ...specs.map((s) => model.heads[s.name]!),
    ...(model.gate?.head ? [model.gate.head] : []),
  ].map((b) => serializeBlock(b as AnyBlock));
  const size = { width: opts.preprocessing.size, height: opts.preprocessing.size };
  // calibrated exports record their thresholds on the calibrated scale (./temperature.ts)
  const calibrated = calibratedDecode(specs, decode, opts.temperature);
  const temperature = opts.temperature === undefined ? {} : { temperature: opts.temperature };
  return {
    opts,
    size,
    specs,
    classNames,
    gate: resolveGate(opts.gate, model, classTask, classNames),
    decode: calibrated,
    blocks,
    temperature,
  };
}

function resolveGate(
  given: GateSpec | undefined,
  model: PipelineModel,
  classTask: AnyTaskSpec | undefined,
  classNames: string[],
): GateSpec | null {
  if (given !== undefined) return given;
  const g = model.gate;
  const probabilities = (task: AnyTaskSpec) => task.outputs[0]!.name;
  if (g?.config.kind === 'cls-path')
    return {
      source: 'cls',
      task: classTask!.name,
      probabilities: probabilities(classTask!),
      classes: [...g.config.classes],
      threshold: g.threshold,
    };
  if (g !== null) return { source: 'output', output: 'gate_prob', threshold: g.threshold };
  // No gate of its own: the classifier's Pneumonia / Pneumothorax open the routed tasks, as the paper's pipeline does.
  const classes = DEFAULT_GATE_CLASSES.filter((c) => classNames.includes(c));
  if (classTask === undefined || classes.length === 0 || !model.taskSpecs.some((s) => s.routed)) return null;
  return {
    source: 'cls',
    task: classTask.name,
    probabilities: probabilities(classTask),
    classes: [...classes],
    threshold: 0.5,
  };
}

/**
 * The optional outputs an export adds on the encoder features beside the heads' (`cls_cam`: ./cam-output.ts,
 * `ood_features`: ./ood-output.ts), appended to `outputs` / `specs`; returns the metadata entries they bring.
 */
function addOptionalOutputs(
  model: PipelineModel,
  opts: ResolvedOptions,
  features: EncoderFeatures<Sym>,
  outputs: Sym[],
  specs: OutputSpec[],
): { ood?: OodSpec } {
  const cam = camExportOutput(
    model.heads['cls'] as Parameters<typeof camExportOutput>[0] | undefined,
    features,
    opts.cam,
  );
  const ood = oodExportOutput(opts.ood, features);
  for (const extra of [cam, ood]) {
    if (extra === null) continue;
    outputs.push(extra.output);
    specs.push(extra.spec);
  }
  return ood === null ? {} : { ood: ood.metadata };
}

/**
 * The outputs a graph computes from the encoder features: the given tasks' heads, the optional cam / ood outputs
 * and the dedicated gate head's probability when the model has one.
 */
function encoderOutputs(
  model: PipelineModel,
  opts: ResolvedOptions,
  features: EncoderFeatures<Sym>,
  tasks: readonly AnyTaskSpec[],
): { outputs: Sym[]; specs: OutputSpec[]; extra: { ood?: OodSpec } } {
  const outputs: Sym[] = [];
  const specs: OutputSpec[] = [];
  for (const spec of tasks) {
    outputs.push(model.heads[spec.name]!.apply(features));
    specs.push(...outputSpecsOf(spec));
  }
  // [cam] [ood] optional outputs on the encoder features (./cam-output.ts, ./ood-output.ts)
  const extra = addOptionalOutputs(model, opts, features, outputs, specs);
  if (model.gate?.head) {
    outputs.push(model.gate.head.apply(features));
    specs.push({
      name: 'gate_prob',
      activation: 'sigmoid',
      layout: 'NHWC',
      description: '[B, 1] gate probability (dedicated gate head)',
    });
  }
  return { outputs, specs, extra };
}

function outputSpecsOf(spec: AnyTaskSpec): OutputSpec[] {
  return spec.outputs.map((o) => ({
    name: o.name,
    activation: o.activation,
    layout: o.layout ?? 'NHWC',
    description: o.description,
  }));
}

/** The in-graph post-processing of the given tasks (CheXDet's boxes), or null when none has any. */
function derivedOf(
  model: PipelineModel,
  specs: readonly AnyTaskSpec[],
  size: { width: number; height: number },
): GraphExtension | null {
  const derived = specs.filter((s) => s.derivedOutputs !== undefined);
  if (derived.length === 0) return null;
  return (gb, outputs) =>
    derived.flatMap((s): OnnxTensorSpec[] =>
      s.derivedOutputs!.graph(gb, outputs, { head: model.heads[s.name], inputSize: size }),
    );
}

/**
 * Exports a trained MultiCheXNet as the two ONNX graphs of the gated pipeline, so the encoder runs once per image:
 *
 * - stage 1: `image` [B, H, W, Cin] NHWC -> the outputs of the unrouted tasks (CheXCls: `cls_probs` [B, C], sigmoid
 *   in the graph), `gate_prob` [B], and the encoder features `feat_c2..feat_c5` [B, C_l, H_l, W_l] NCHW that the
 *   stage-2 heads read (NCHW because they only go from one graph to the other: no transposes on either side);
 * - stage 2: those features -> the outputs of the routed tasks (CheXDet: `det_raw` [B, S, S, K*5] NHWC plus its
 *   in-graph decoded `det_boxes` [B, N, 4] and `det_scores` [B, N]; CheXSeg: `seg_mask` [B, H, W, 1] NHWC
 *   probabilities). Null when the model has no routed task.
 *
 * Any subset of the task table exports: each task writes the outputs its spec declares. Stage 2 records the checksum
 * of its stage 1 (`pairedWith`), so mismatched files are refused together.
 *
 * @example
 * const models = await exportPipeline(model, { preprocessing: { size: 256 } });
 * await writePipelineFiles('runs/exp1', models);   // model.stage1.onnx, model.stage2.onnx
 */
export async function exportPipeline(model: PipelineModel, options: ExportPipelineOptions): Promise<PipelineModels> {
  const plan = planExport(model, options, 'pipeline export options');
  const { opts, size, specs } = plan;
  const first = specs.filter((s) => !s.routed);
  const second = specs.filter((s) => s.routed);

  // Stage 1: image -> unrouted tasks (+ gate) and the features stage 2 will read.
  const image = tf.input({ shape: [size.height, size.width, model.encoder.config.inputChannels] });
  const features = model.encoder.apply(image);
  const stage2 =
    second.length > 0
      ? buildStage2(
          features,
          second.map((s) => model.heads[s.name]!),
        )
      : null;
  const { outputs: s1Outputs, specs: s1Specs, extra: s1Extra } = encoderOutputs(model, opts, features, first);
  for (const level of stage2?.levels ?? []) {
    s1Outputs.push(features[level]);
    s1Specs.push({
      name: featureOutputName(level),
      activation: 'none',
      layout: 'NCHW',
      description: `encoder feature ${level}, NCHW, input of stage 2`,
    });
  }
  const common = commonMetadata(plan);
  const s1 = await exportWithExtension(
    tf.model({ inputs: image, outputs: s1Outputs }),
    {
      outputs: s1Specs,
      foldBatchNorm: opts.foldBatchNorm,
      opset: opts.opset,
      graphName: 'multichexnet_stage1',
      metadata: { role: 'stage1', ...common, ...s1Extra, tasks: first.map((s) => s.name) },
    },
    oodExtension(opts.ood, derivedOf(model, first, size)),
  );
  if (stage2 === null) return { stage1: s1.bytes, stage2: null, reports: { stage1: s1, stage2: null } };

  // Stage 2: features (NCHW, as stage 1 writes them) -> the routed tasks' outputs.
  const s2 = await exportWithExtension(
    stage2.model,
    {
      inputs: stage2.levels.map((level) => ({ name: featureOutputName(level), layout: 'NCHW' as const })),
      outputs: second.flatMap(outputSpecsOf),
      foldBatchNorm: opts.foldBatchNorm,
      opset: opts.opset,
      graphName: 'multichexnet_stage2',
      metadata: { role: 'stage2', ...common, tasks: specs.map((s) => s.name), pairedWith: s1.checksum },
    },
    derivedOf(model, second, size),
  );
  return { stage1: s1.bytes, stage2: s2.bytes, reports: { stage1: s1, stage2: s2 } };
}

/**
 * Exports a trained MultiCheXNet as ONE ONNX graph (role `model`, the run folder's `model.onnx`): `image` -> every
 * task's outputs (`cls_probs`, `det_raw`, `det_boxes`, `det_scores`, `seg_mask`, ...) and `gate_prob`, every head on
 * every image (no gating). For Python/C++ users, tools such as Netron, and the one-pass multi-task benchmark; the
 * gated pipeline uses {@link exportPipeline}.
 *
 * @example
 * await writeOnnxFile('runs/exp1/model.onnx', await exportModel(model, { preprocessing: { size: 256 } }));
 */
export async function exportModel(model: PipelineModel, options: ExportPipelineOptions): Promise<Uint8Array> {
  return (await exportModelWithReport(model, options)).bytes;
}

/** {@link exportModel} with the export report (operator counts, metadata, checksum). */
export async function exportModelWithReport(
  model: PipelineModel,
  options: ExportPipelineOptions,
): Promise<ExportReport> {
  const plan = planExport(model, options, 'model export options');
  const { opts, size, specs } = plan;
  const image = tf.input({ shape: [size.height, size.width, model.encoder.config.inputChannels] });
  const features = model.encoder.apply(image);
  const { outputs, specs: outputSpecs, extra } = encoderOutputs(model, opts, features, specs);
  return exportWithExtension(
    tf.model({ inputs: image, outputs }),
    {
      outputs: outputSpecs,
      foldBatchNorm: opts.foldBatchNorm,
      opset: opts.opset,
      graphName: 'multichexnet',
      metadata: { role: 'model', ...commonMetadata(plan), tasks: specs.map((s) => s.name), ...extra },
    },
    oodExtension(opts.ood, derivedOf(model, specs, size)),
  );
}

/**
 * The stage-2 model: fresh inputs for exactly the feature levels the routed heads read (recorded as the heads access
 * them), shaped like the stage-1 features.
 */
function buildStage2(
  features: EncoderFeatures<Sym>,
  heads: readonly TaskHead[],
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
  const outputs = heads.map((h) => h.apply(lazy));
  const levels = FEATURE_LEVELS.filter((l) => inputs.has(l));
  return { model: tf.model({ inputs: levels.map((l) => inputs.get(l)!), outputs }), levels };
}

/**
 * Writes the pipeline graphs into `dir` (atomically, folders created): `model.stage1.onnx` and, when present,
 * `model.stage2.onnx`. Node only.
 */
export async function writePipelineFiles(
  dir: string,
  models: Pick<PipelineModels, 'stage1' | 'stage2'>,
): Promise<{ stage1: string; stage2: string | null }> {
  const { join } = await import('node:path');
  const stage1 = join(dir, PIPELINE_FILES.stage1);
  await writeOnnxFile(stage1, models.stage1);
  let stage2: string | null = null;
  if (models.stage2 !== null) {
    stage2 = join(dir, PIPELINE_FILES.stage2);
    await writeOnnxFile(stage2, models.stage2);
  }
  return { stage1, stage2 };
}
