import { DataError, scaleProbability, z, type PlainTensor, type TaskDecoder } from '@multichexnet/core/base';
import type { ModelMetadata } from '../model/metadata';

/*
 * Calibrated probabilities: the temperatures a trainer fitted on validation data are recorded in
 * `metadata.temperature`, by task, and the runtime applies them to the task's probability output before its decoder
 * reads it, p' = sigmoid(logit(p) / T). What a temperature applies to comes from the task's decoder
 * (`TaskDecoder.calibration` of the task table: CheXCls one per class of `cls_probs`, CheXDet one for `det_scores`,
 * CheXSeg one for `seg_mask`), so a user's own task calibrates the same way. Decisions do not move: the export
 * records the decision thresholds (chosen on validation on the raw scale) mapped through the temperatures by the
 * same descriptor, so recorded and caller thresholds are on the calibrated scale. The gate stays a raw score.
 */

/** One task's temperatures: one number, or one per class (a class left out keeps T = 1). */
export const TaskTemperatureSchema = z
  .object({
    temperature: z.union([z.number().positive(), z.record(z.string(), z.number().positive())]),
    /** Labelled samples they were fitted on (classes x images, boxes, pixels: what the task counts). */
    samples: z.number().int().nonnegative(),
  })
  .strict();
export type TaskTemperature = z.output<typeof TaskTemperatureSchema>;

/** `metadata.temperature`: temperatures fitted on a split, by task name. */
export const TemperatureSpecSchema = z
  .object({
    /** Where they were fitted (`val`: the run's validation split). */
    split: z.string().min(1),
    tasks: z.record(z.string(), TaskTemperatureSchema),
  })
  .strict();
export type TemperatureSpec = z.output<typeof TemperatureSpecSchema>;
export type TemperatureSpecInput = z.input<typeof TemperatureSpecSchema>;

/** Whether a result's probabilities are calibrated, and with what. */
export interface ProbabilityCalibration {
  calibrated: boolean;
  /** `temperature scaling on val` when calibrated. */
  method?: string;
}

/** The calibration state a model's results carry. */
export function calibrationOf(metadata: ModelMetadata): ProbabilityCalibration {
  const t = metadata.temperature;
  return t === null ? { calibrated: false } : { calibrated: true, method: `temperature scaling on ${t.split}` };
}

/**
 * The temperature of each value of a task's probability output as a function of its column (class) index, or null
 * when the task has none recorded. Errors: temperatures recorded for a task without a calibration descriptor, or
 * per-class temperatures naming a class the task lacks. Not exported from the package.
 */
export function temperatureOf(
  decoder: TaskDecoder,
  settings: unknown,
  spec: TemperatureSpec | null,
): ((column: number) => number) | null {
  const t = spec?.tasks[decoder.task];
  if (t === undefined) return null;
  const c = decoder.calibration;
  if (c === undefined) {
    throw new DataError('Temperatures recorded for a task without probabilities to scale', {
      field: `temperature.tasks.${decoder.task}`,
      expected: 'a task whose decoder has a calibration',
      found: decoder.task,
    });
  }
  if (typeof t.temperature === 'number') {
    const T = t.temperature;
    return () => T;
  }
  if (c.per !== 'class')
    throw new DataError('Per-class temperatures for a task calibrated as a whole', {
      field: `temperature.tasks.${decoder.task}`,
      expected: 'one number',
      found: 'an object of classes',
    });
  const classes = c.classes!(settings);
  const unknown = Object.keys(t.temperature).filter((k) => !classes.includes(k));
  if (unknown.length > 0)
    throw new DataError('Temperatures name a class the task does not have', {
      field: `temperature.tasks.${decoder.task}`,
      expected: `classes among ${classes.join(', ')}`,
      found: unknown.join(', '),
    });
  const byColumn = classes.map((k) => (t.temperature as Record<string, number>)[k] ?? 1);
  return (column) => byColumn[column] ?? 1;
}

/**
 * Row `index` of the outputs a task's decoder reads, as [1, ...] views, its probability output replaced by a
 * calibrated copy (the decoder then reads row 0). Not exported from the package.
 */
export function calibratedRow(
  outputs: Readonly<Record<string, PlainTensor>>,
  decoder: TaskDecoder,
  index: number,
  temperature: (column: number) => number,
): Record<string, PlainTensor> {
  const c = decoder.calibration!;
  const view: Record<string, PlainTensor> = {};
  for (const name of decoder.reads) {
    const t = outputs[name];
    if (t === undefined) continue; // the decoder names what is missing
    const per = t.data.length / (t.dims[0] ?? 1);
    const row = ArrayBuffer.isView(t.data)
      ? (t.data as Float32Array).subarray(index * per, (index + 1) * per)
      : Array.prototype.slice.call(t.data, index * per, (index + 1) * per);
    if (name !== c.output) {
      view[name] = { data: row, dims: [1, ...t.dims.slice(1)] };
      continue;
    }
    const scaled = new Float32Array(per);
    // per class: [B, C], column k is class k; per task: every value alike
    for (let i = 0; i < per; i++) scaled[i] = scaleProbability(row[i]!, temperature(c.per === 'class' ? i : 0));
    view[name] = { data: scaled, dims: [1, ...t.dims.slice(1)] };
  }
  return view;
}
