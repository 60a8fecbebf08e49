import type { TrainEvent } from '@multichexnet/trainer';
import type { ExperimentEvent, TransferExperimentEvent } from '@multichexnet/experiments';
import type { FineTuneEvent } from '@multichexnet/transfer';
import type { ProgressTask, Reporter } from './progress';

const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : String(v));

/**
 * Renders @multichexnet/transfer's fine-tuning events: a bar over the steps with the loss, a line per evaluation.
 *
 * @example
 * await fineTune({ from: 'runs/quickstart', data: 'data/covid', onEvent: createFineTuneProgress(ctx.reporter) });
 */
export function createFineTuneProgress(reporter: Reporter, label = 'fine-tune'): (event: FineTuneEvent) => void {
  let task: ProgressTask | null = null;
  return (e) => {
    switch (e.type) {
      case 'start':
        reporter.info(
          `${label}: ${e.steps} steps on ${e.trainSamples} images, ${e.freeze} (${e.trainable} variables learn: ${e.transferred} transferred, ${e.fresh} new)`,
        );
        task = reporter.task(label, e.steps, 'steps');
        break;
      case 'step':
        task?.update(e.step, { loss: f(e.loss), 'img/s': Math.round(e.imagesPerSecond) });
        break;
      case 'evaluated':
        task?.finish();
        task = null;
        reporter.info(`${label}: ${e.split} mean AUROC ${f(e.meanAuroc)} on ${e.images} images`);
        break;
      case 'end':
        task?.finish();
        task = null;
        break;
    }
  };
}

/**
 * Renders the trainer's progress events: one bar per phase (steps, rate, time left, the step's losses), and log
 * lines for evaluations, the gate threshold, checkpoints at phase ends and stops. Experiment events (which carry a
 * `variant`) get the variant as a label prefix; the fine-tuning runs of a transfer experiment (which carry a
 * `run`) get their own bars.
 *
 * @example
 * await train(plan, { runDir, data, onEvent: createTrainProgress(ctx.reporter) });
 */
export function createTrainProgress(
  reporter: Reporter,
): (event: TrainEvent | ExperimentEvent | TransferExperimentEvent) => void {
  let task: ProgressTask | null = null;
  const fineTunes = new Map<string, (e: FineTuneEvent) => void>();
  return (e) => {
    if ('run' in e) {
      // A fine-tuning run inside a transfer experiment: its own bar, labelled by the run.
      let handler = fineTunes.get(e.run);
      if (handler === undefined) fineTunes.set(e.run, (handler = createFineTuneProgress(reporter, e.run)));
      handler(e);
      return;
    }
    const prefix = 'variant' in e && e.variant !== undefined && e.type !== 'experiment' ? `${e.variant} ` : '';
    switch (e.type) {
      case 'experiment':
        // The variant's own run-start line says what variant-start would.
        if (e.stage !== 'variant-start') reporter.info(e.message);
        break;
      case 'run-start':
        reporter.info(
          `${prefix}training ${e.plan}: ${e.phases} phases, ${e.totalSteps} steps -> ${e.runDir}${e.resumedFrom ? ` (resumed at ${e.resumedFrom.phase} step ${e.resumedFrom.step})` : ''}`,
        );
        break;
      case 'phase-start':
        task?.finish();
        task = reporter.task(`${prefix}[${e.phaseIndex + 1}/${e.phases}] ${e.phase}`, e.steps, 'steps');
        if (e.startStep > 0) task.update(e.startStep);
        break;
      case 'step': {
        const losses: Record<string, string | number> = {};
        for (const [k, v] of Object.entries(e.losses)) losses[k] = f(v!);
        losses['img/s'] = Math.round(e.imagesPerSecond);
        task?.update(e.step, losses);
        break;
      }
      case 'eval':
        reporter.info(
          `${prefix}  validation ${e.phase} @${e.step}: ${Object.entries(e.metrics)
            .map(([k, v]) => `${k} ${f(v)}`)
            .join(', ')}${e.best ? ' (best)' : ''}`,
        );
        break;
      case 'phase-end':
        task?.finish(e.restoredBest ? `restored best weights of step ${e.restoredBest.step}` : undefined);
        task = null;
        break;
      case 'gate-threshold':
        reporter.info(
          `${prefix}gate threshold ${f(e.threshold)}: sensitivity ${f(e.sensitivity)} (target ${e.targetSensitivity}), specificity ${f(e.specificity)} on validation`,
        );
        break;
      case 'stopped':
        task?.finish();
        task = null;
        reporter.warn(
          `${prefix}training stopped in ${e.phase} at step ${e.step}: ${e.reason}${e.lastCheckpoint ? `; last good checkpoint ${e.lastCheckpoint}` : ''}`,
        );
        break;
      case 'run-end':
        task?.finish();
        task = null;
        if (e.status !== 'completed') reporter.warn(`${prefix}run ${e.status} after ${e.seconds.toFixed(0)} s`);
        break;
      case 'checkpoint':
        break;
    }
  };
}
