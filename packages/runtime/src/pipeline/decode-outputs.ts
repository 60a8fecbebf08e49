import { DataError, type GateDecision, type PlainTensor, type TaskDecoder } from '@multichexnet/core/base';
import { rleEncode, type FitTransform } from '@multichexnet/data/decode';
import { clsDecoder, type ClsPrediction } from '@multichexnet/head-cls/decode';
import { detDecoder, type DetPrediction } from '@multichexnet/head-det/decode';
import { segDecoder, type SegPrediction } from '@multichexnet/head-seg/decode';
import type { ModelMetadata } from '../model/metadata';
import type { TensorData } from '../model/run-model';
import { fitImageSpace } from './fit-image-space';
import { modelOutput } from './model-output';
import { calibratedRow, temperatureOf } from './calibration';
import { decideOod, type OodDecision } from './ood';

/** The decoders of the built-in task table (CheXCls, CheXDet, CheXSeg), from the heads' tfjs-free subpaths. */
export const BUILTIN_DECODERS: readonly TaskDecoder[] = Object.freeze([
  clsDecoder,
  detDecoder,
  segDecoder,
] as TaskDecoder[]);

/** Options of {@link decodeOutputs}: which image, where it came from, and overrides of what the model recorded. */
export interface DecodeOutputsOptions {
  /** data's fit of the original image (`preprocessImage(...).transform`): boxes and masks go back through it. */
  transform: FitTransform;
  /** Row of every output that holds this image (default 0). */
  index?: number;
  /** `enabled: false` decodes routed tasks whatever the gate says; `threshold` overrides `metadata.gate.threshold`. */
  gate?: { enabled?: boolean; threshold?: number };
  /** Per task overrides of `metadata.decode`, e.g. `{ det: { scoreThreshold: 0.4 }, seg: { minArea: 40 } }`. */
  decode?: Readonly<Record<string, unknown>>;
  /** Decoders of tasks outside the built-in table (a user's own heads). */
  decoders?: readonly TaskDecoder[];
  /** Override of `metadata.ood.threshold` (pipeline/ood.ts). */
  ood?: { threshold?: number };
}

/**
 * One image's decoded outputs: the gate, the tasks decoded, and the fields each task's decoder writes: CheXCls
 * `probabilities` (+ `findings` with recorded thresholds), CheXDet `boxes`, CheXSeg `mask` (null when the gate stopped
 * the image), a user task its own. A task the model lacks writes nothing.
 */
export type DecodedOutputs = Partial<ClsPrediction & DetPrediction & SegPrediction> & {
  readonly [field: string]: unknown;
  /** The first-stage gate's decision (probability 1, positive, when the model has no gate). */
  gate: GateDecision;
  /** The tasks decoded, in the model's order. */
  tasks: string[];
  /**
   * SIIM run-length encoding of `mask` at the original image size (`-1`: empty, or the gate stopped the image), for
   * JSON consumers; absent when the model has no mask-writing head.
   */
  maskRle?: string;
  /** The OOD verdict (pipeline/ood.ts); absent when the model records no OOD statistics. */
  ood?: OodDecision;
  /**
   * Whether the tasks' probabilities (class probabilities, box scores) are calibrated: temperature scaling recorded
   * in the model (pipeline/calibration.ts).
   */
  calibrated: boolean;
};

/** The decoders and resolved settings of a model's tasks: what {@link decodeOutputs} runs per image. */
export interface TaskDecoding {
  decoder: TaskDecoder;
  settings: unknown;
  /** The task's temperature by output column (pipeline/calibration.ts); null: its probabilities are left as they are. */
  temperature: ((column: number) => number) | null;
}

/**
 * The decoders of a model's tasks with their settings (recorded, then `overrides`): the tasks `metadata.tasks` lists,
 * or for files that predate it, every known decoder whose outputs the model has. A task without a decoder, or
 * two tasks writing one result field, is a DataError naming them.
 *
 * @example
 * const decoding = taskDecoding(model.metadata, { det: { scoreThreshold: 0.4 } });
 */
export function taskDecoding(
  metadata: ModelMetadata,
  overrides: Readonly<Record<string, unknown>> = {},
  extra: readonly TaskDecoder[] = [],
): TaskDecoding[] {
  const known = [...extra, ...BUILTIN_DECODERS.filter((d) => !extra.some((e) => e.task === d.task))];
  const outputs = new Set(metadata.outputs.map((o) => o.name));
  let decoders: TaskDecoder[];
  if (metadata.tasks !== undefined) {
    const missing = metadata.tasks.filter((t) => !known.some((d) => d.task === t));
    if (missing.length > 0) {
      throw new DataError('The model has tasks without a decoder', {
        field: 'decoders',
        expected: `decoders for ${missing.join(', ')} (createPipeline({ decoders: [...] }))`,
        found: `decoders for ${known.map((d) => d.task).join(', ')}`,
      });
    }
    decoders = metadata.tasks.map((t) => known.find((d) => d.task === t)!);
  } else {
    decoders = known.filter((d) => d.reads.every((r) => outputs.has(r)) && metadata.decode[d.task] !== null);
  }
  const unknownOverrides = Object.keys(overrides).filter(
    (t) => overrides[t] !== undefined && !decoders.some((d) => d.task === t),
  );
  if (unknownOverrides.length > 0) {
    throw new DataError('Decode settings for a task the model does not have', {
      field: `decode.${unknownOverrides[0]}`,
      expected: `one of ${decoders.map((d) => d.task).join(', ') || '(none)'}`,
      found: unknownOverrides.join(', '),
    });
  }
  const seen = new Map<string, string>();
  for (const d of decoders) {
    for (const f of d.fields) {
      if (seen.has(f))
        throw new DataError('Two tasks write the same result field', {
          field: f,
          expected: 'one task per field',
          found: `${seen.get(f)} and ${d.task}`,
        });
      seen.set(f, d.task);
    }
  }
  return decoders.map((decoder) => {
    const settings = decoder.settings(metadata.decode[decoder.task], overrides[decoder.task], {
      classNames: metadata.classNames,
    });
    return { decoder, settings, temperature: temperatureOf(decoder, settings, metadata.temperature) };
  });
}

/**
 * `gate_prob` [B] or [B, 1] (a cls gate: max of its classes, computed in the graph), or a gate head's output ->
 * image `index`'s gate decision. Not exported from the package: {@link decodeOutputs} is the public way.
 */
export function decideGate(
  outputs: Record<string, TensorData>,
  metadata: ModelMetadata,
  index: number,
  gate: { enabled?: boolean; threshold?: number } = {},
): GateDecision {
  const spec = metadata.gate;
  if (spec === null) return { probability: 1, positive: true };
  const name = spec.source === 'cls' ? 'gate_prob' : spec.output;
  const t = modelOutput(outputs, name);
  const per = t.data.length / (t.dims[0] ?? 1);
  const probability = t.data[index * per]!;
  if (probability === undefined)
    throw new DataError('Image index outside the batch', {
      field: name,
      expected: `0 <= index < ${t.dims[0]}`,
      found: String(index),
    });
  return { probability, positive: gate.enabled === false || probability >= (gate.threshold ?? spec.threshold) };
}

/** The network input a model's outputs refer to: its recorded input size, else its `image` input, else its preprocessing. */
export function inputSizeOf(metadata: ModelMetadata): { width: number; height: number } {
  if (metadata.inputSize !== null) return { width: metadata.inputSize[1], height: metadata.inputSize[0] };
  const image = metadata.inputs.find((i) => i.layout === 'NHWC' && i.shape.length === 4);
  if (image !== undefined && typeof image.shape[1] === 'number' && typeof image.shape[2] === 'number')
    return { width: image.shape[2], height: image.shape[1] };
  const size = metadata.preprocessing?.size ?? 0;
  return { width: size, height: size };
}

/** One image's result from prepared decoders (the pipeline prepares them once). */
export function decodeWith(
  decoding: readonly TaskDecoding[],
  outputs: Readonly<Record<string, PlainTensor>>,
  gate: GateDecision,
  context: { index: number; transform: FitTransform; inputSize: { width: number; height: number } },
): DecodedOutputs {
  const image = fitImageSpace(context.transform, context.inputSize);
  const result: DecodedOutputs = {
    gate,
    tasks: decoding.map((d) => d.decoder.task),
    calibrated: decoding.some((d) => d.temperature !== null),
  };
  for (const { decoder, settings, temperature } of decoding) {
    if (decoder.routed && !gate.positive) Object.assign(result, decoder.empty(settings));
    // calibrated tasks read a calibrated copy of their row (pipeline/calibration.ts)
    else if (temperature !== null)
      Object.assign(
        result,
        decoder.decode(calibratedRow(outputs, decoder, context.index, temperature), { index: 0, settings, image }),
      );
    else Object.assign(result, decoder.decode(outputs, { index: context.index, settings, image }));
  }
  if (result.mask !== undefined) result.maskRle = result.mask === null ? '-1' : rleEncode(result.mask);
  return result;
}

/**
 * A MultiCheXNet graph's outputs (onnxruntime's, plain arrays) -> one image's result, by the decoders of the tasks
 * the model has (and only those): the gate decision, then each task's decoder with the settings the model recorded
 * (`metadata.decode`) unless overridden, routed tasks (det / seg style) only for gate positives. Boxes and masks come
 * back onto the original image through `transform`. Pure JavaScript, no session, no tfjs.
 *
 * @example
 * const { input, transform } = preprocessImage(image, model.metadata.preprocessing!);
 * const out = await runModel(model, { image: { data: input, dims: [1, S, S, 1] } });
 * const r = decodeOutputs(out, model.metadata, { transform });
 * r.probabilities?.Pneumonia; r.gate.positive; r.boxes; r.mask;
 */
export function decodeOutputs(
  outputs: Record<string, TensorData>,
  metadata: ModelMetadata,
  options: DecodeOutputsOptions,
): DecodedOutputs {
  const index = options.index ?? 0;
  const decoding = taskDecoding(metadata, options.decode, options.decoders);
  const gate = decideGate(outputs, metadata, index, options.gate);
  const result = decodeWith(decoding, outputs, gate, {
    index,
    transform: options.transform,
    inputSize: inputSizeOf(metadata),
  });
  return withOod(result, outputs, metadata, index, options.ood?.threshold);
}

/** The result with its OOD verdict (models with OOD statistics). Not exported from the package. */
export function withOod(
  result: DecodedOutputs,
  outputs: Record<string, TensorData>,
  metadata: ModelMetadata,
  index: number,
  oodThreshold?: number,
): DecodedOutputs {
  const ood = decideOod(outputs, metadata, index, oodThreshold);
  if (ood !== null) result.ood = ood;
  return result;
}
