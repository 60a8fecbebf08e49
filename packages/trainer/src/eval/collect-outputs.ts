import {
  inputImageSpace,
  logitOf,
  tf,
  type AnyTaskSpec,
  type Box,
  type EncoderFeatures,
  type FeatureLevel,
  type PlainTensor,
  type ScoredBox,
  type TaskHead,
} from '@multichexnet/core';
import { PATHOLOGIES, createBatchStream, type Dataset, type PreprocessConfigInput } from '@multichexnet/data';
import { boxIoU } from '@multichexnet/head-det';
import type { MultiCheXNet } from '@multichexnet/model';
import { taskSources } from './evaluate';
import { pooledFeatures } from './ood-fit';

/** Options of {@link collectOutputs}. */
export interface CollectOutputsOptions {
  /** Network input side (the plan's imageSize). */
  imageSize: number;
  /** Preprocessing of the plan (`size` is imageSize); no augmentation. */
  preprocess?: Omit<PreprocessConfigInput, 'size'>;
  /** What to collect: head outputs with their labels (`heads`), pooled encoder features (`features`: these levels). */
  heads?: boolean;
  features?: readonly FeatureLevel[];
  /**
   * Keep every n-th value of each image's output row of a task calibrated as a whole (CheXSeg's mask pixels; default
   * 7: an odd stride does not align with the det grid). Per-class outputs keep every class.
   */
  segStride?: number;
  /** At most this many images per source (default all), evenly spaced through the dataset. */
  maxImages?: number;
  batchSize?: number;
  /** Called after each image. */
  onImage?: () => void;
}

/** A task calibrated per class (`calibration.per: 'class'`, CheXCls): per image its logits [C] and labels [C]. */
export interface ClassSamples {
  logits: Float32Array[];
  /** NaN: not annotated. */
  labels: Float32Array[];
  /** The columns' class names. */
  classes: string[];
}

/** A task calibrated as a whole (CheXDet, CheXSeg, a user's task): one logit and one 0/1 label per sample. */
export interface TaskSamples {
  logits: number[];
  labels: number[];
}

/** One task's calibration samples. */
export type CalibrationSamples = ClassSamples | TaskSamples;

/**
 * Labelled head outputs as logits, for temperature scaling, by task name (every task of the model whose decoder has
 * a calibration), and pooled features, for the OOD statistics. Each task is collected on its spec's default source
 * (CheXCls on nih when present, else every source; CheXDet on rsna; CheXSeg on siim), on the images its targets
 * label: CheXCls per class, CheXDet the objectness of its boxes after NMS down to score 0.01, each a hit when it
 * matches a truth box at IoU >= 0.5 not matched by a higher-scored box, CheXSeg every `segStride`-th pixel.
 */
export interface CollectedOutputs {
  /** Pooled encoder features [D] per image (every source), when asked for. */
  features: Float32Array[];
  [task: string]: CalibrationSamples | Float32Array[];
}

/** Whether a task's samples are per class. */
export function isClassSamples(samples: CalibrationSamples): samples is ClassSamples {
  return 'classes' in samples;
}

/** The tasks' samples of collected outputs, in the model's task order (`features` left out). */
export function calibrationSamples(outputs: CollectedOutputs): [string, CalibrationSamples][] {
  return Object.entries(outputs).flatMap(([task, v]) =>
    task === 'features' ? [] : [[task, v as CalibrationSamples] as [string, CalibrationSamples]],
  );
}

/** Greedy matching of boxes (best score first) to truths at IoU >= 0.5: 1 for a hit, 0 for a false alarm. */
function matchBoxes(boxes: readonly ScoredBox[], truth: readonly Box[]): number[] {
  const used = new Array<boolean>(truth.length).fill(false);
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[b]!.score - boxes[a]!.score);
  const hit = new Array<number>(boxes.length).fill(0);
  for (const i of order) {
    let best = -1;
    let bestIoU = 0.5;
    truth.forEach((t, j) => {
      if (used[j]) return;
      const iou = boxIoU(boxes[i]!, t);
      if (iou >= bestIoU) {
        best = j;
        bestIoU = iou;
      }
    });
    if (best >= 0) {
      used[best] = true;
      hit[i] = 1;
    }
  }
  return hit;
}

/** The values of a target that labels its task's output row value by value: a number, numbers, or a mask's pixels. */
function targetValues(target: unknown): ArrayLike<number> | null {
  if (typeof target === 'number') return [target];
  if (ArrayBuffer.isView(target) || (Array.isArray(target) && target.every((v) => typeof v === 'number')))
    return target as ArrayLike<number>;
  const data = (target as { data?: unknown } | null)?.data;
  return data !== undefined && ArrayBuffer.isView(data) ? (data as unknown as ArrayLike<number>) : null;
}

const isBox = (v: unknown): v is Box =>
  typeof v === 'object' && v !== null && ['x', 'y', 'width', 'height'].every((k) => k in v);

/** The scored boxes of one image's decoded prediction (the first of the decoder's fields that holds them), or null. */
function predictedBoxes(prediction: object, fields: readonly string[]): ScoredBox[] | null {
  for (const field of fields) {
    const v = (prediction as Record<string, unknown>)[field];
    if (Array.isArray(v) && v.every((b) => isBox(b) && typeof (b as { score?: unknown }).score === 'number'))
      return v as ScoredBox[];
  }
  return null;
}

/**
 * Adds one batch of a task to its samples, as its decoder's calibration descriptor says what is calibrated.
 * - The head's own sigmoid output (CheXCls, CheXSeg, a user's probability head): the head's logits, labelled value by
 *   value by the image's target (a number, numbers over the classes, a mask's pixels).
 * - A derived output (CheXDet's box scores): the image's decoded boxes at the task's collect settings, each labelled a
 *   hit or a false alarm against the target's truth boxes.
 * A target that labels neither way is an error naming the task.
 */
function collectTask(
  spec: AnyTaskSpec,
  head: TaskHead,
  features: EncoderFeatures,
  targets: readonly unknown[],
  samples: CalibrationSamples,
  stride: number,
  imageSize: number,
): void {
  const c = spec.decoder.calibration!;
  const own = spec.outputs[0]!;
  const raw = head.apply(features);
  try {
    const B = raw.shape[0]!;
    const per = raw.size / B;
    if (c.output === own.name && own.activation === 'sigmoid') {
      const logits = raw.dataSync() as Float32Array;
      targets.forEach((target, b) => {
        if (target === null) return;
        const labels = targetValues(target);
        if (labels === null || labels.length !== per)
          throw new TypeError(
            `task ${spec.name}: calibration needs a target that labels each of the ${per} values of ${c.output} per image, found ${labels === null ? typeof target : `${labels.length} values`}`,
          );
        const row = logits.subarray(b * per, (b + 1) * per);
        if (isClassSamples(samples)) {
          samples.logits.push(row.slice());
          samples.labels.push(Float32Array.from(labels));
          return;
        }
        for (let i = 0; i < per; i += stride) {
          samples.logits.push(row[i]!);
          samples.labels.push(labels[i]!);
        }
      });
      return;
    }
    const data = own.activation === 'sigmoid' ? tf.tidy(() => tf.sigmoid(raw).dataSync()) : raw.dataSync();
    const size = { width: imageSize, height: imageSize };
    const mine: Record<string, PlainTensor> = { [own.name]: { data, dims: raw.shape } };
    const outputs = { ...mine, ...spec.derivedOutputs?.plain(mine, { head, inputSize: size }) };
    const settings = spec.decoder.settings(spec.decodeSettings(head), spec.evaluation.collectSettings);
    const image = inputImageSpace(size);
    targets.forEach((target, b) => {
      if (target === null) return;
      const boxes = predictedBoxes(spec.decoder.decode(outputs, { index: b, settings, image }), spec.decoder.fields);
      if (boxes === null || isClassSamples(samples) || !Array.isArray(target) || !target.every(isBox))
        throw new TypeError(
          `task ${spec.name}: calibration of ${c.output} needs decoded boxes with scores and truth boxes as targets`,
        );
      const hits = matchBoxes(boxes, target);
      boxes.forEach((box, i) => {
        samples.logits.push(logitOf(box.score));
        samples.labels.push(hits[i]!);
      });
    });
  } finally {
    raw.dispose();
  }
}

/**
 * One pass of the model over held-out sets collecting what post-hoc calibration needs: the logits of each calibrated
 * task (every task whose decoder has a calibration descriptor: CheXCls per class, CheXDet box objectness, CheXSeg
 * pixels, a user's task) with their labels, and the pooled encoder features the OOD score reads. Routed tasks run on
 * every image with their labels (no gate): the question is what a score means when a head gives it.
 *
 * @example
 * const val = await collectOutputs(model, { nih: data.nih.val, rsna: data.rsna.val }, { imageSize: 128, heads: true, features: ['c4', 'c5'] });
 * fitHeadTemperatures(val).det?.temperature;
 */
export async function collectOutputs(
  model: MultiCheXNet,
  sets: Readonly<Record<string, Dataset | undefined>>,
  options: CollectOutputsOptions,
): Promise<CollectedOutputs> {
  const calibrated = model.taskSpecs.filter((s) => s.decoder.calibration !== undefined);
  const out: CollectedOutputs = { features: [] };
  for (const spec of calibrated) {
    const c = spec.decoder.calibration!;
    const head = model.heads[spec.name]!;
    out[spec.name] =
      c.per === 'class'
        ? {
            logits: [],
            labels: [],
            classes: [...c.classes!(spec.decoder.settings(spec.decodeSettings(head)))],
          }
        : { logits: [], labels: [] };
  }
  const present = Object.keys(sets).filter((s) => sets[s] !== undefined);
  const stride = options.segStride ?? 7;
  for (const source of present) {
    const ds = sets[source]!;
    const limit = Math.min(ds.size, options.maxImages ?? ds.size);
    if (limit === 0) continue;
    const tasks =
      options.heads === true ? calibrated.filter((spec) => taskSources(spec, present).includes(source)) : [];
    if (tasks.length === 0 && options.features === undefined) continue;
    const stream = createBatchStream({
      datasets:
        limit < ds.size ? ds.subset(Array.from({ length: limit }, (_, i) => Math.floor((i * ds.size) / limit))) : ds,
      batchSize: options.batchSize ?? 16,
      shuffle: false,
      augment: false,
      preprocess: { ...(options.preprocess ?? {}), size: options.imageSize },
      classes: [...PATHOLOGIES],
      prefetch: 1,
    });
    for await (const batch of stream) {
      const B = batch.size;
      const S = batch.imageSize;
      const images = tf.tensor4d(batch.images, [B, S, S, 1]);
      const features = model.encoder.apply(images);
      try {
        if (options.features !== undefined) {
          const pooled = pooledFeatures(features, options.features);
          const data = pooled.dataSync() as Float32Array;
          const D = pooled.shape[1];
          for (let b = 0; b < B; b++) out.features.push(data.slice(b * D, (b + 1) * D));
          pooled.dispose();
        }
        for (const spec of tasks) {
          const head = model.heads[spec.name]!;
          const samples = out[spec.name] as CalibrationSamples;
          collectTask(spec, head, features, spec.targets.fromBatch(batch, head), samples, stride, S);
        }
      } finally {
        images.dispose();
        tf.dispose(Object.values(features));
      }
      for (let b = 0; b < B; b++) options.onImage?.();
    }
  }
  return out;
}
