import type { ImageSpace } from './image-space';
import type { PlainTensor } from './plain-tensor';

/** What {@link TaskDecoder.decode} needs besides the outputs. */
export interface DecodeContext<S> {
  /** Row of every output that holds this image. */
  index: number;
  /** The resolved decision settings ({@link TaskDecoder.settings}). */
  settings: S;
  /** Where boxes and masks are reported. */
  image: ImageSpace;
}

/**
 * How temperature scaling (p' = sigmoid(logit(p) / T), fitted on validation data) applies to a task's probabilities:
 * which output holds them, whether there is one temperature per class or one for the task, and which decision
 * settings are probabilities (the export maps recorded thresholds onto the calibrated scale through it, so decisions
 * stay the same). Absent on a task whose outputs are no probabilities.
 */
export interface TaskCalibration<S = unknown> {
  /** `class`: one temperature per class ([B, C] output, classes in {@link classes} order); `task`: one for every value. */
  readonly per: 'class' | 'task';
  /** The sigmoid-probability output the temperatures apply to (`cls_probs`, `det_scores`, `seg_mask`). */
  readonly output: string;
  /** `per: 'class'`: the class names of the output's columns under these settings. */
  classes?(settings: S): readonly string[];
  /** The settings with each probability threshold passed through `scale` (`className` for per-class thresholds). */
  scaleSettings(settings: S, scale: (probability: number, className?: string) => number): S;
}

/**
 * Decodes one task's model outputs (plain arrays, named as the ONNX export names them) into one image's plain
 * prediction, without tfjs: the same code serves onnxruntime results and tfjs predictions. Each head package exports
 * one from its `/decode` subpath (`@multichexnet/head-det/decode`); a user's own task brings its own.
 *
 * @typeParam P the fields an image's result gets (e.g. `{ boxes }`), @typeParam S the decision settings.
 */
export interface TaskDecoder<P extends object = object, S = unknown> {
  /** Task name (`cls`, `det`, `seg` or a user task). */
  readonly task: string;
  /** Output names decode reads (all of them must be present). */
  readonly reads: readonly string[];
  /** Whether a first-stage gate decides if the task runs on an image (det / seg style). */
  readonly routed: boolean;
  /** The fields decode writes into an image's result (the tasks of one model write disjoint fields). */
  readonly fields: readonly string[];
  /**
   * The decision settings: what the model recorded (`metadata.decode[task]`, absent in files that predate it), then
   * the caller's `overrides` (unknown keys or bad values: a DataError naming the field). `classNames` is the model's
   * class list, for files that recorded it only there.
   */
  settings(recorded: unknown, overrides?: unknown, context?: { classNames?: readonly string[] }): S;
  /** One image's prediction from the outputs. */
  decode(outputs: Readonly<Record<string, PlainTensor>>, context: DecodeContext<S>): P;
  /** The prediction of an image the task did not run on (a routed task the gate stopped). */
  empty(settings: S): P;
  /** How temperature scaling applies to the task's probabilities; absent when it has none. */
  readonly calibration?: TaskCalibration<S>;
}

/** Freezes an object and every plain object and array inside it (not typed arrays, not functions' insides). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/**
 * Declares a task decoder: checks its shape and freezes it (a table entry must not change under its readers).
 *
 * @example
 * export const lungDecoder = defineTaskDecoder<{ lungMask: BinaryMask | null }, { threshold: number }>({ task: 'lung', ... });
 */
export function defineTaskDecoder<P extends object, S>(decoder: TaskDecoder<P, S>): TaskDecoder<P, S> {
  for (const key of ['decode', 'empty', 'settings'] as const) {
    if (typeof decoder?.[key] !== 'function')
      throw new TypeError(`task decoder ${String(decoder?.task)}: ${key} must be a function`);
  }
  if (typeof decoder.task !== 'string' || decoder.task === '' || decoder.reads.length === 0)
    throw new TypeError('a task decoder needs a task name and the outputs it reads');
  const c = decoder.calibration;
  if (
    c !== undefined &&
    (!decoder.reads.includes(c.output) ||
      typeof c.scaleSettings !== 'function' ||
      (c.per === 'class' && typeof c.classes !== 'function'))
  ) {
    throw new TypeError(
      `task decoder ${decoder.task}: calibration must name an output it reads, scaleSettings, and classes() when per class`,
    );
  }
  return deepFreeze(decoder);
}
