import { DataError, scaleProbability, type AnyTaskSpec } from '@multichexnet/core';
import type { DecodeSpec, TemperatureSpec } from '@multichexnet/runtime/format';

/*
 * The export side of calibrated probabilities (the runtime applies the temperatures: @multichexnet/runtime's
 * pipeline/calibration.ts). What each task's temperature applies to comes from its decoder's calibration descriptor
 * in the task table (CheXCls per class, CheXDet and CheXSeg one each), never from the task's name.
 */

/**
 * The recorded decision settings on the calibrated scale: each task's probability thresholds (chosen on validation
 * on the raw scale) mapped through its temperatures, so the runtime's decisions on calibrated probabilities are the
 * decisions on raw ones. Errors name a task the model lacks, a task without probabilities, or a class its task
 * lacks. Not exported from the package: `exportPipeline` / `exportModel` take `temperature`.
 */
export function calibratedDecode(
  specs: readonly AnyTaskSpec[],
  decode: DecodeSpec,
  temperature: TemperatureSpec | undefined,
): DecodeSpec {
  if (temperature === undefined) return decode;
  const out: DecodeSpec = { ...decode };
  for (const [task, t] of Object.entries(temperature.tasks)) {
    const spec = specs.find((s) => s.name === task);
    if (spec === undefined)
      throw new DataError('Temperatures for a task the model does not have', {
        field: `temperature.tasks.${task}`,
        expected: `one of ${specs.map((s) => s.name).join(', ')}`,
        found: task,
      });
    const c = spec.decoder.calibration;
    if (c === undefined)
      throw new DataError('Temperatures for a task without probabilities', {
        field: `temperature.tasks.${task}`,
        expected: 'a task whose decoder has a calibration',
        found: task,
      });
    const settings = decode[task];
    let scale: (p: number, className?: string) => number;
    if (typeof t.temperature === 'number') {
      const T = t.temperature;
      scale = (p) => scaleProbability(p, T);
    } else {
      if (c.per !== 'class')
        throw new DataError('Per-class temperatures for a task calibrated as a whole', {
          field: `temperature.tasks.${task}`,
          expected: 'one number',
          found: 'an object of classes',
        });
      const classes = c.classes!(settings);
      const byClass = t.temperature;
      const unknown = Object.keys(byClass).filter((k) => !classes.includes(k));
      if (unknown.length > 0)
        throw new DataError('Temperatures name a class the task does not have', {
          field: `temperature.tasks.${task}`,
          expected: `classes among ${classes.join(', ')}`,
          found: unknown.join(', '),
        });
      scale = (p, className) => scaleProbability(p, className === undefined ? 1 : (byClass[className] ?? 1));
    }
    out[task] = c.scaleSettings(settings, scale) as DecodeSpec[string];
  }
  return out;
}
