import { DataError, z } from '@multichexnet/core/base';
import { PreprocessConfigSchema } from '@multichexnet/data/decode';
import type { StringStringEntry } from '../onnx/onnx-proto';
import { OodSpecSchema } from '../pipeline/ood';
import { TemperatureSpecSchema } from '../pipeline/calibration';

/** Format tag of every model file this package writes. */
export const ONNX_MODEL_FORMAT = 'multichexnet-onnx/1';
/** Prefix of the `metadata_props` keys this package writes. */
export const METADATA_PREFIX = 'multichexnet.';
/** The `metadata_props` key holding the SHA-256 of the graph and the other metadata. */
export const CHECKSUM_KEY = 'multichexnet.sha256';

/** How a graph input or output stores its dimensions. */
export const TensorLayoutSchema = z.enum(['NHWC', 'NCHW', 'plain']);
export type TensorLayout = z.output<typeof TensorLayoutSchema>;

/** One graph input or output as the metadata describes it. */
export const TensorSpecSchema = z.object({
  name: z.string().min(1),
  /** Shape, `null` for dynamic sizes (the batch). */
  shape: z.array(z.number().int().nullable()),
  layout: TensorLayoutSchema,
  description: z.string().default(''),
});
export type TensorSpec = z.output<typeof TensorSpecSchema>;

/**
 * The first-stage gate: which images go on to the routed (det / seg style) tasks.
 * - `cls`: the maximum of the probabilities of `classes` in the output `probabilities` of task `task` (CheXCls's
 *   `cls_probs` unless said otherwise), computed in the graph as output `gate_prob`.
 * - `output`: a dedicated binary gate head writing probabilities to graph output `output` (the gating package).
 * An image passes when its gate probability is >= `threshold`.
 */
export const GateSpecSchema = z.discriminatedUnion('source', [
  z.object({
    source: z.literal('cls'),
    task: z.string().min(1).default('cls'),
    probabilities: z.string().min(1).default('cls_probs'),
    classes: z.array(z.string().min(1)).min(1),
    threshold: z.number().min(0).max(1).default(0.5),
  }),
  z.object({
    source: z.literal('output'),
    output: z.string().min(1),
    threshold: z.number().min(0).max(1).default(0.5),
  }),
]);
export type GateSpec = z.output<typeof GateSpecSchema>;
export type GateSpecInput = z.input<typeof GateSpecSchema>;

/**
 * Decision settings of each task's decoder, by task name, read by the pipeline (each overridable per pipeline): e.g.
 * det `{ scoreThreshold, nmsIoU, maxDetections }`, seg `{ threshold, minArea }` (minArea counted on the model-input
 * grid), cls `{ classes, thresholds }`. The task's decoder checks them. Trainers choose them on validation data (e.g.
 * @multichexnet/trainer's `calibrate`). Files written before the task table hold `det` / `seg` entries that are null
 * for a head the model lacks.
 */
export const DecodeSpecSchema = z.record(z.string(), z.unknown().nullable());
export type DecodeSpec = z.output<typeof DecodeSpecSchema>;

/** A block spec as stored (`serializeBlock` output). */
export const BlockSpecSchema = z.object({ className: z.string().min(1), config: z.unknown() });

/** Everything a model file says about itself. */
export const ModelMetadataSchema = z.object({
  format: z.literal(ONNX_MODEL_FORMAT),
  /** `model`: one graph; `stage1` / `stage2`: the two graphs of a gated pipeline. */
  role: z.enum(['model', 'stage1', 'stage2']),
  classNames: z.array(z.string()).default([]),
  /** @multichexnet/data's preprocessing config, exactly as in training (size = the image input's side). */
  preprocessing: PreprocessConfigSchema.nullable().default(null),
  blocks: z.array(BlockSpecSchema).default([]),
  versions: z.record(z.string(), z.string()).default({}),
  /** [height, width] of the `image` input, `null` when it is not fixed. */
  inputSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).nullable().default(null),
  inputs: z.array(TensorSpecSchema),
  outputs: z.array(TensorSpecSchema),
  gate: GateSpecSchema.nullable().default(null),
  /** stage2 only: the checksum of the stage1 graph whose features it takes. */
  pairedWith: z.string().nullable().default(null),
  /**
   * The tasks whose outputs this graph (or this pipeline, in stage 1) carries, in table order; each needs its decoder.
   * Absent in files written before the task table: then the built-in decoders whose outputs are present.
   */
  tasks: z.array(z.string().min(1)).optional(),
  decode: DecodeSpecSchema.default({}),
  // --- OOD refusal and probability calibration (pipeline/ood.ts, pipeline/calibration.ts); null in older files
  /** The OOD score output and its threshold chosen on validation films. */
  ood: OodSpecSchema.nullable().default(null),
  /** Temperatures fitted on validation data, by task, applied by the runtime to the probabilities. */
  temperature: TemperatureSpecSchema.nullable().default(null),
});
export type ModelMetadata = z.output<typeof ModelMetadataSchema>;
export type ModelMetadataInput = z.input<typeof ModelMetadataSchema>;

/** The metadata as `metadata_props` entries: one key per field, JSON values, sorted by key. */
export function metadataToProps(meta: ModelMetadata): StringStringEntry[] {
  return Object.entries(meta)
    .map(([k, v]) => ({ key: `${METADATA_PREFIX}${k}`, value: JSON.stringify(v) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Reads the metadata back from `metadata_props`; a file without our format tag, or with fields that do not
 * validate, is refused with a DataError naming the file and the field.
 */
export function metadataFromProps(props: StringStringEntry[], file: string): ModelMetadata {
  const raw: Record<string, unknown> = {};
  for (const { key, value } of props) {
    if (!key.startsWith(METADATA_PREFIX) || key === CHECKSUM_KEY) continue;
    const field = key.slice(METADATA_PREFIX.length);
    try {
      raw[field] = JSON.parse(value);
    } catch {
      throw new DataError('Model metadata is not valid JSON', {
        file,
        field: key,
        expected: 'JSON',
        found: value.slice(0, 60),
      });
    }
  }
  if (raw.format !== ONNX_MODEL_FORMAT) {
    throw new DataError('Not a MultiCheXNet model: the ONNX file lacks the MultiCheXNet metadata', {
      file,
      field: `${METADATA_PREFIX}format`,
      expected: ONNX_MODEL_FORMAT,
      found: raw.format === undefined ? 'no such metadata entry' : JSON.stringify(raw.format),
    });
  }
  const parsed = ModelMetadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DataError('Model metadata does not validate', {
      file,
      field: `${METADATA_PREFIX}${issue.path.map(String).join('.')}`,
      expected: issue.message,
      found:
        JSON.stringify(
          issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], raw),
        )?.slice(0, 80) ?? 'undefined',
    });
  }
  return parsed.data;
}
