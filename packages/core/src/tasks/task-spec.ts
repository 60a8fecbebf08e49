import type { ApplyOptions, Block, EncoderFeatures, FeatureChannels } from '../blocks/block';
import type { tf } from '../tf';
import type { LabelBatch } from './label-batch';
import type { OnnxGraphWriter, OnnxTensorSpec, OnnxValue } from './onnx-graph';
import type { PlainTensor } from './plain-tensor';
import { deepFreeze, type TaskDecoder } from './task-decoder';

/**
 * A task head as a model composes it: a layer block over the encoder features with one output, eager or symbolic.
 * CheXCls, CheXDet, CheXSeg and a user's own head all are one.
 */
export interface TaskHead extends Block<EncoderFeatures, tf.Tensor, unknown> {
  /** Task name of the head (`cls`, `det`, `seg`, ...). */
  readonly task: string;
  /** The functional graph (what a model nests and the ONNX exporter walks). */
  readonly layersModel: tf.LayersModel;
  apply(features: EncoderFeatures, opts?: ApplyOptions): tf.Tensor;
  apply(features: EncoderFeatures<tf.SymbolicTensor>, opts?: ApplyOptions): tf.SymbolicTensor;
}

/** One output of a head as the export writes it: its name, the activation added in the graph, its layout. */
export interface TaskOutputSpec {
  /** Graph output name, e.g. `cls_probs`. */
  readonly name: string;
  /** Post-processing in the graph (and before decoding in tfjs): `sigmoid` for probabilities. */
  readonly activation: 'none' | 'sigmoid';
  /** Layout of a rank-4 output (default NHWC). */
  readonly layout?: 'NHWC' | 'NCHW';
  /** What it holds, written into the file's metadata. */
  readonly description: string;
}

/** What a spec's derived outputs are computed for. */
export interface TaskOutputContext<H> {
  head: H;
  /** Network input size in pixels. */
  inputSize: { width: number; height: number };
}

/** A headline number of a task's evaluation (CLI summary, report card). */
export interface TaskHeadline {
  /** e.g. `CheXDet RSNA mAP`. */
  label: string;
  value: number;
  /** A short second line, e.g. `AP@0.5 0.41, 120 images`. */
  detail: string;
}

/** Where a task is evaluated by default: its dataset, and whether any labelled source stands in when it is absent. */
export interface TaskSource {
  /** `nih`, `rsna`, `siim`, ... */
  readonly name: string;
  /** `any-source`: without `name`, every source present (the classifier); `none`: not evaluated. */
  readonly fallback: 'any-source' | 'none';
}

/**
 * One task of MultiCheXNet, declared once and read by everything that composes, trains, evaluates, exports and runs a
 * model (the task table; in the spirit of transformers.js' pipeline table). Each head package exports one, frozen
 * (`clsTask`, `detTask`, `segTask`); a fourth task is a new package with its own head and spec.
 *
 * @typeParam H head, T target of one image, P one image's decoded prediction, S decision settings, M metrics,
 * R one image's evaluation record.
 */
export interface TaskSpec<
  H extends TaskHead = TaskHead,
  T = unknown,
  P extends object = object,
  S = unknown,
  M extends object = object,
  R = unknown,
> {
  /** Task name: the model's block name, the plan's task and loss name, the key of its settings and metrics. */
  readonly name: string;
  /** Human name of the head (`CheXDet`). */
  readonly title: string;
  /** Registry class name of the head block (what a saved model records). */
  readonly headClassName: string;
  /** Whether the first-stage gate decides which images the head runs on (det / seg style): its decoder's `routed`. */
  readonly routed: boolean;
  readonly defaultSource: TaskSource;
  /** The head from its config (without `featureChannels`) on an encoder's feature channels; validates the config. */
  createHead(config: Readonly<Record<string, unknown>>, featureChannels: FeatureChannels): H;
  /** Class names of a probability output a `cls-path` gate can read; absent for tasks without classes. */
  classesOf?(head: H): readonly string[];
  /** The head's output as the export writes it (one entry: heads have one output). */
  readonly outputs: readonly TaskOutputSpec[];
  /**
   * Further outputs computed from {@link outputs}, in the exported graph (`graph`) and on plain arrays for tfjs
   * predictions (`plain`), so both decode through the same decoder (CheXDet's boxes and scores).
   */
  readonly derivedOutputs?: {
    graph(
      writer: OnnxGraphWriter,
      outputs: ReadonlyMap<string, OnnxValue>,
      context: TaskOutputContext<H>,
    ): OnnxTensorSpec[];
    plain(outputs: Readonly<Record<string, PlainTensor>>, context: TaskOutputContext<H>): Record<string, PlainTensor>;
  };
  /** The tfjs-free decoder of those outputs (also exported from the head package's `/decode` subpath). */
  readonly decoder: TaskDecoder<P, S>;
  /** The head's own decision settings (what an export records unless calibrated ones are given). */
  decodeSettings(head: H): S;
  readonly targets: {
    /** Per sample the target, or null where the sample has no label for this task (no loss). */
    fromBatch(batch: LabelBatch, head: H): (T | null)[];
    /** Whether a target holds a finding (routing: the ground-truth positives). */
    isPositive(target: T): boolean;
    /** The target of an image the gate let through by mistake: "nothing here". */
    empty(head: H, imageSize: number): T;
  };
  /** The task loss, a scalar, of the head's raw output [B, ...] against one target per row (null rows add no loss). */
  loss(head: H, output: tf.Tensor, targets: readonly (T | null)[], imageSize: number): tf.Scalar;
  readonly evaluation: {
    /** The metric a run's best checkpoint and Table 1 rank by. */
    readonly primary: keyof M & string;
    /** Metrics written to `metrics.jsonl` at each validation (as `<task>.<metric>`). */
    readonly logged: readonly (keyof M & string)[];
    /** Settings the predictions are collected with (e.g. the lowest box score), before the metric applies its own. */
    readonly collectSettings?: Partial<S>;
    /** One image's record from its target and prediction; null: the image does not count. */
    record(target: T, prediction: P, head: H): R | null;
    /** The metrics of the records under decision settings `settings`. */
    metrics(records: readonly R[], settings: S, head: H): M;
    /** Decision settings chosen on validation records (what a calibrated export records). */
    calibrate?(records: readonly R[], head: H): Partial<S>;
    /** The headline numbers of the metrics. */
    headline(metrics: M): TaskHeadline[];
    /** Chosen settings in words (`box score >= 0.3`). */
    describeSettings?(settings: Partial<S>): string[];
  };
}

/** A task spec of any head, target, prediction and metrics: what tables hold. */
export type AnyTaskSpec = TaskSpec<any, any, any, any, any, any>;

/**
 * The head entries of a task spec (`headClassName`, `createHead`) from the head's registry name and its `create*`
 * factory: the head is created on the encoder's feature channels.
 *
 * @example
 * defineTaskSpec({ name: 'lung', ...taskHead(LUNG_HEAD_CLASS_NAME, createLungHead), ... });
 */
export function taskHead<H extends TaskHead, I extends { featureChannels: FeatureChannels }>(
  headClassName: string,
  create: (config: I) => H,
): Pick<TaskSpec<H>, 'headClassName' | 'createHead'> {
  return { headClassName, createHead: (config, featureChannels) => create({ ...config, featureChannels } as I) };
}

/**
 * Declares a task spec: checks that it carries what every reader of the table calls, takes `routed` from its
 * decoder, and freezes it.
 *
 * @example
 * export const lungTask = defineTaskSpec<LungHead, BinaryMask, LungPrediction, LungSettings, LungMetrics, LungRecord>({ name: 'lung', ... });
 */
export function defineTaskSpec<H extends TaskHead, T, P extends object, S, M extends object, R>(
  input: Omit<TaskSpec<H, T, P, S, M, R>, 'routed'>,
): TaskSpec<H, T, P, S, M, R> {
  const spec: TaskSpec<H, T, P, S, M, R> = { ...input, routed: input?.decoder?.routed };
  const missing = (['createHead', 'decodeSettings', 'loss'] as const).filter((k) => typeof spec?.[k] !== 'function');
  if (
    missing.length > 0 ||
    typeof spec.targets?.fromBatch !== 'function' ||
    typeof spec.evaluation?.metrics !== 'function'
  ) {
    throw new TypeError(
      `task spec ${String(spec?.name)}: missing ${[...missing, 'targets.fromBatch', 'evaluation.metrics'].join(', ')}`,
    );
  }
  if (spec.decoder.task !== spec.name)
    throw new TypeError(`task spec ${spec.name}: its decoder decodes task ${spec.decoder.task}`);
  if (spec.outputs.length !== 1)
    throw new TypeError(`task spec ${spec.name}: a head has one output, ${spec.outputs.length} given`);
  return deepFreeze(spec);
}

/**
 * A metric in a headline or table: `digits` decimals, `n/a` for anything that is not a finite number (NaN, or the
 * `"NaN"` a run file stores for it).
 *
 * @example
 * formatMetric(0.41234);   // '0.412'
 * formatMetric(NaN);       // 'n/a'
 */
export function formatMetric(value: unknown, digits = 3): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}
