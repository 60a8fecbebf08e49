import {
  tf,
  DataError,
  parseConfig,
  serializeBlock,
  TFJS_VERSION,
  version as coreVersion,
  z,
  type Block,
  type OnnxGraphWriter,
} from '@multichexnet/core';
import { GraphBuilder, type Value } from './onnx/graph-builder';
import {
  BlockSpecSchema,
  CHECKSUM_KEY,
  DecodeSpecSchema,
  GateSpecSchema,
  ModelMetadataSchema,
  OodSpecSchema,
  TemperatureSpecSchema,
  ONNX_MODEL_FORMAT,
  RUNTIME_VERSION,
  encodeGraphProto,
  encodeModelProto,
  metadataToProps,
  modelChecksum,
  scanModelProto,
  type DimData,
  type GateSpec,
  type ModelMetadata,
  type TensorSpec,
} from '@multichexnet/runtime/format';
import { PreprocessConfigSchema } from '@multichexnet/data/decode';
import { version as EXPORT_VERSION } from './version';
import { convertFlatGraph, type ConversionStats } from './convert-graph';
import { flattenModel } from './flatten-model';
import { softmaxLastAxis } from './layers/activation';

/** ONNX IR version written (IR 8 goes with opsets up to 17, readable by onnx >= 1.10 and every onnxruntime 1.1x). */
export const ONNX_IR_VERSION = 8;

const IoLayoutSchema = z.enum(['NHWC', 'NCHW']);

/** Options of {@link exportOnnx}. */
export const ExportOnnxOptionsSchema = z
  .object({
    /** Per model input: the graph input name and, for rank-4 inputs, the layout the caller feeds (default NHWC). */
    inputs: z.array(z.object({ name: z.string().min(1), layout: IoLayoutSchema.default('NHWC') }).strict()).optional(),
    /**
     * Per model output: graph output name, post-processing added in the graph (`sigmoid` for probabilities,
     * `softmax` over the last axis) and, for rank-4 outputs, the layout written (default NHWC).
     */
    outputs: z
      .array(
        z
          .object({
            name: z.string().min(1),
            activation: z.enum(['none', 'sigmoid', 'softmax']).default('none'),
            layout: IoLayoutSchema.default('NHWC'),
            description: z.string().default(''),
          })
          .strict(),
      )
      .optional(),
    /** Fold each BatchNorm into the Conv2D / Conv2DTranspose / Dense right before it (default true). */
    foldBatchNorm: z.boolean().default(true),
    /** ONNX opset of the default domain; 13..17 (default 17). */
    opset: z.number().int().min(13).max(17).default(17),
    /** Graph name. */
    graphName: z.string().min(1).default('multichexnet'),
    /** Self-description written to metadata_props (the format, io specs and versions are filled in). */
    metadata: z
      .object({
        role: z.enum(['model', 'stage1', 'stage2']).default('model'),
        classNames: z.array(z.string()).default([]),
        preprocessing: PreprocessConfigSchema.nullable().default(null),
        blocks: z.array(BlockSpecSchema).optional(),
        versions: z.record(z.string(), z.string()).default({}),
        gate: GateSpecSchema.nullable().default(null),
        pairedWith: z.string().nullable().default(null),
        tasks: z.array(z.string().min(1)).optional(),
        decode: DecodeSpecSchema.optional(),
        // OOD refusal and probability calibration (pipeline/ood.ts, pipeline/calibration.ts)
        ood: OodSpecSchema.nullable().default(null),
        temperature: TemperatureSpecSchema.nullable().default(null),
      })
      .strict()
      .default({
        role: 'model',
        classNames: [],
        preprocessing: null,
        versions: {},
        gate: null,
        pairedWith: null,
        ood: null,
        temperature: null,
      }),
  })
  .strict();
export type ExportOnnxOptions = z.input<typeof ExportOnnxOptionsSchema>;
type ResolvedOptions = z.output<typeof ExportOnnxOptionsSchema>;

/** What can be exported: a functional LayersModel, or a block that owns one. */
export type Exportable = tf.LayersModel | (Block<unknown, unknown, unknown> & { readonly layersModel: tf.LayersModel });

/** The result of {@link exportOnnxWithReport}. */
export interface ExportReport {
  bytes: Uint8Array;
  metadata: ModelMetadata;
  checksum: string;
  /** ONNX operator counts. */
  ops: Record<string, number>;
  stats: ConversionStats;
}

function dims(shape: (number | null)[], batchName: string): DimData[] {
  return shape.map((d, i) => (d === null || d < 0 ? { dimParam: i === 0 ? batchName : `d${i}` } : { dimValue: d }));
}

const toNchwShape = (s: (number | null)[]): (number | null)[] => (s.length === 4 ? [s[0]!, s[3]!, s[1]!, s[2]!] : s);

function defaultInputName(i: number, count: number): string {
  return count === 1 ? 'image' : i === 0 ? 'image' : `input_${i}`;
}

/**
 * Exports a trained model or block to ONNX bytes: the layer graph walked in topological order with nested models
 * inlined, images taken NHWC at the edge and run NCHW inside, BatchNorm folded into the conv before it, named
 * inputs/outputs, and self-describing `metadata_props` (class names, preprocessing, block specs, versions, input
 * size, io layouts, gate) sealed with a SHA-256 that {@link loadModel} checks.
 *
 * @example
 * const bytes = await exportOnnx(model, {
 *   outputs: [{ name: 'cls_probs', activation: 'sigmoid' }],
 *   metadata: { classNames: [...CHESTXRAY14_CLASSES] },
 * });
 * await writeOnnxFile('runs/exp1/model.onnx', bytes);
 */
export async function exportOnnx(source: Exportable, options: ExportOnnxOptions = {}): Promise<Uint8Array> {
  return (await exportOnnxWithReport(source, options)).bytes;
}

/** {@link exportOnnx}, also returning the metadata written, the checksum and conversion statistics. */
export async function exportOnnxWithReport(source: Exportable, options: ExportOnnxOptions = {}): Promise<ExportReport> {
  return exportWithExtension(source, options, null);
}

/**
 * Adds graph outputs computed from the finished outputs (by name, in their written layout), e.g. box decoding;
 * returns their specs.
 */
export type GraphExtension = (gb: OnnxGraphWriter, outputs: ReadonlyMap<string, Value>) => TensorSpec[];

/** {@link exportOnnxWithReport} with extra in-graph post-processing (used by the pipeline exporter). */
export async function exportWithExtension(
  source: Exportable,
  options: ExportOnnxOptions,
  extend: GraphExtension | null,
): Promise<ExportReport> {
  const opts = parseConfig(ExportOnnxOptionsSchema, options, 'ONNX export options');
  const model = modelOf(source);
  const flat = flattenModel(model);
  const gb = new GraphBuilder();

  if (opts.inputs !== undefined && opts.inputs.length !== flat.inputs.length) {
    throw new DataError('Export options name a different number of inputs than the model has', {
      field: 'inputs',
      expected: `${flat.inputs.length} entries`,
      found: `${opts.inputs.length}`,
    });
  }
  if (opts.outputs !== undefined && opts.outputs.length !== flat.outputs.length) {
    throw new DataError('Export options name a different number of outputs than the model has', {
      field: 'outputs',
      expected: `${flat.outputs.length} entries`,
      found: `${opts.outputs.length}`,
    });
  }

  const inputSpecs: TensorSpec[] = [];
  const inputValues: Value[] = flat.inputs.map((inp, i) => {
    const o = opts.inputs?.[i] ?? { name: defaultInputName(i, flat.inputs.length), layout: 'NHWC' as const };
    const name = gb.reserveName(o.name);
    const nchw = o.layout === 'NCHW' && inp.shape.length === 4;
    const shape = nchw ? toNchwShape(inp.shape) : inp.shape;
    gb.input(name, dims(shape, 'batch'));
    inputSpecs.push({
      name,
      shape,
      layout: inp.shape.length === 4 ? (nchw ? 'NCHW' : 'NHWC') : 'plain',
      description: '',
    });
    return { name, shape: inp.shape, layout: nchw ? 'nchw' : 'plain' };
  });

  const { outputs, stats } = convertFlatGraph(gb, flat, inputValues, { foldBatchNorm: opts.foldBatchNorm });

  const outputSpecs: TensorSpec[] = [];
  const finalValues = new Map<string, Value>();
  outputs.forEach((v, i) => {
    const o = opts.outputs?.[i] ?? {
      name: `output_${i}`,
      activation: 'none' as const,
      layout: 'NHWC' as const,
      description: '',
    };
    const spec = finishOutput(gb, v, o);
    outputSpecs.push(spec);
    finalValues.set(spec.name, { name: spec.name, shape: v.shape, layout: spec.layout === 'NCHW' ? 'nchw' : 'plain' });
  });
  if (extend !== null) outputSpecs.push(...extend(gb, finalValues));

  const meta = opts.metadata;
  // The gate lives in the graph that sees the image (stage 2 only records the spec for the pipeline).
  if (meta.gate !== null && meta.role !== 'stage2') {
    const gate = meta.gate;
    if (gate.source === 'cls') {
      outputSpecs.push(addClsGate(gb, gate, meta.classNames, finalValues));
    } else if (!outputSpecs.some((s) => s.name === gate.output)) {
      throw new DataError('The gate reads an output the model does not have', {
        field: 'metadata.gate.output',
        expected: `one of ${outputSpecs.map((s) => s.name).join(', ')}`,
        found: gate.output,
      });
    }
  }

  const image = inputSpecs[0];
  const inputSize: [number, number] | null =
    image !== undefined &&
    image.shape.length === 4 &&
    image.layout === 'NHWC' &&
    typeof image.shape[1] === 'number' &&
    typeof image.shape[2] === 'number'
      ? [image.shape[1], image.shape[2]]
      : null;
  const metadata: ModelMetadata = ModelMetadataSchema.parse({
    format: ONNX_MODEL_FORMAT,
    role: meta.role,
    classNames: meta.classNames,
    preprocessing: meta.preprocessing,
    blocks: meta.blocks ?? blocksOf(source),
    versions: {
      '@multichexnet/export': EXPORT_VERSION,
      '@multichexnet/runtime': RUNTIME_VERSION,
      '@multichexnet/core': coreVersion,
      '@tensorflow/tfjs': TFJS_VERSION,
      ...meta.versions,
    },
    inputSize,
    inputs: inputSpecs,
    outputs: outputSpecs,
    gate: meta.gate,
    pairedWith: meta.pairedWith,
    ...(meta.tasks !== undefined ? { tasks: meta.tasks } : {}),
    ...(meta.decode !== undefined ? { decode: meta.decode } : {}),
    ood: meta.ood,
    temperature: meta.temperature,
  });
  return { ...(await sealModel(gb, opts, metadata)), metadata, ops: gb.opCounts(), stats };
}

function modelOf(source: Exportable): tf.LayersModel {
  if (source instanceof tf.LayersModel) return source;
  const m = (source as { layersModel?: unknown }).layersModel;
  if (m instanceof tf.LayersModel) return m;
  throw new DataError('Cannot export this object to ONNX', {
    field: 'source',
    expected: 'a tf.LayersModel or a block with a layersModel (LayerBlock)',
    found:
      source === null ? 'null' : typeof source === 'object' ? (source.constructor?.name ?? 'object') : typeof source,
  });
}

function blocksOf(source: Exportable): { className: string; config: unknown }[] {
  if (source instanceof tf.LayersModel) return [];
  return [serializeBlock(source)];
}

function finishOutput(
  gb: GraphBuilder,
  value: Value,
  o: { name: string; activation: 'none' | 'sigmoid' | 'softmax'; layout: 'NHWC' | 'NCHW'; description: string },
): TensorSpec {
  const name = gb.reserveName(o.name);
  let v = value;
  if (o.activation === 'softmax') v = softmaxLastAxis(gb, v, o.name);
  const rank4 = v.shape.length === 4;
  const wantNchw = rank4 && o.layout === 'NCHW';
  // The layout change is written straight into the output name when one is needed; otherwise the activation or
  // an Identity is (ONNX forbids a graph input or a shared value doubling as an output name).
  if (o.activation === 'sigmoid') {
    v = wantNchw ? gb.toNchw(v) : gb.toPlain(v);
    gb.nodeTo('Sigmoid', [v.name], [name], {}, o.name);
  } else if (rank4 && (v.layout === 'nchw') !== wantNchw) {
    gb.nodeTo('Transpose', [v.name], [name], { perm: wantNchw ? [0, 3, 1, 2] : [0, 2, 3, 1] }, o.name);
  } else {
    gb.nodeTo('Identity', [v.name], [name], {}, o.name);
  }
  const shape = wantNchw ? toNchwShape(value.shape) : value.shape;
  gb.output(name, dims(shape, 'batch'), o.description || undefined);
  return { name, shape, layout: rank4 ? (wantNchw ? 'NCHW' : 'NHWC') : 'plain', description: o.description };
}

/** gate_prob [B] = max over the gate classes of its task's probabilities [B, K]: Gather + ReduceMax in the graph. */
function addClsGate(
  gb: GraphBuilder,
  gate: Extract<GateSpec, { source: 'cls' }>,
  classNames: string[],
  outputs: Map<string, Value>,
): TensorSpec {
  const probs = outputs.get(gate.probabilities);
  if (probs === undefined || probs.shape.length !== 2) {
    throw new DataError(`A cls gate needs a [B, K] output named '${gate.probabilities}'`, {
      field: 'metadata.gate',
      expected: `output '${gate.probabilities}' of rank 2`,
      found: probs === undefined ? `outputs ${[...outputs.keys()].join(', ')}` : `rank ${probs.shape.length}`,
    });
  }
  const indices = gate.classes.map((c) => {
    const i = classNames.indexOf(c);
    if (i < 0) {
      throw new DataError('Gate class is not one of the model classes', {
        field: 'metadata.gate.classes',
        expected: `one of ${classNames.join(', ') || '(metadata.classNames is empty)'}`,
        found: c,
      });
    }
    return i;
  });
  const idx = gb.int64s('gate_indices', indices);
  const [picked] = gb.node('Gather', [probs.name, idx], { axis: 1 }, 'gate_pick');
  const name = gb.reserveName('gate_prob');
  // Opset 13..17 ReduceMax takes axes as an attribute.
  gb.nodeTo('ReduceMax', [picked!], [name], { axes: [1], keepdims: 0 }, 'gate_prob');
  const description = `max ${gate.task} probability of ${gate.classes.join(', ')}`;
  gb.output(name, [{ dimParam: 'batch' }], description);
  return { name, shape: [null], layout: 'plain', description };
}

async function sealModel(
  gb: GraphBuilder,
  opts: ResolvedOptions,
  metadata: ModelMetadata,
): Promise<{ bytes: Uint8Array; checksum: string }> {
  const graph = gb.build(opts.graphName);
  const graphBytes = encodeGraphProto(graph);
  const props = metadataToProps(metadata);
  const checksum = await modelChecksum(graphBytes, props);
  const bytes = encodeModelProto({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: opts.opset }],
    producerName: 'multichexnet-ts',
    producerVersion: EXPORT_VERSION,
    graph,
    metadataProps: [...props, { key: CHECKSUM_KEY, value: checksum }],
  });
  // The checksum covers the graph bytes exactly as they sit in the file; make sure the encoder wrote them alike.
  const range = scanModelProto(bytes).graphRange;
  if (
    range === null ||
    range[1] - range[0] !== graphBytes.byteLength ||
    !sameBytes(bytes.subarray(range[0], range[1]), graphBytes)
  ) {
    throw new Error('internal: graph bytes inside the model differ from the hashed graph');
  }
  return { bytes, checksum };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
