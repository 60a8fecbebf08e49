import { writeFileAtomic } from '@multichexnet/core';
import type { ThresholdChoice } from '@multichexnet/gating';
import { dataHealth, type DataHealth } from '../data/data-health';
import { runnerSeconds, type RunnerContext } from './phase-runner';
import { chooseGateThreshold, validateFinal, type ValidationContext } from './validation';

/** What a completed run ends with (the rest of {@link TrainResult}). */
export interface RunOutcome {
  gate: ThresholdChoice | null;
  validation: Record<string, unknown> | null;
  seconds: number;
  trainingSeconds: number;
  data: DataHealth;
}

/**
 * The end of a completed run: the gate threshold chosen on validation data, every block trainable again, the final
 * model validated, its weights saved (`weights/`) and the results written (`eval.json`: split, gate, validation,
 * data health), then `run-end`. Node only.
 */
export async function finaliseRun(ctx: RunnerContext, v: ValidationContext): Promise<RunOutcome> {
  const { model } = ctx;
  const gate = await chooseGateThreshold(ctx, v);
  model.setTrainable(Object.fromEntries(model.blocks().map(([b]) => [b, true])));
  const validation = await validateFinal(model, v);
  await model.save(ctx.folder!.weights);
  const { seconds, training } = runnerSeconds(ctx);
  // What the data lost is part of the result: a metric over fewer images than the folder holds must say so.
  const health = dataHealth(v.data);
  await writeFileAtomic(
    ctx.folder!.validation,
    `${JSON.stringify({ split: 'val', gate, validation, data: health }, null, 2)}\n`,
  );
  ctx.emit({ type: 'run-end', status: 'completed', seconds });
  return { gate, validation, seconds, trainingSeconds: training, data: health };
}
