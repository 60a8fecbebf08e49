import { log } from '@multichexnet/core';
import type { TrainEvent, TrainEventHandler } from './events';

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`
    : `${m}:${String(r).padStart(2, '0')}`;
}

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/**
 * The default progress printer: one line per phase start, every `every`-th step (phase, step/total, losses,
 * images/s, time left), evaluations, checkpoints and the end, through the project logger (stderr in Node).
 *
 * @example
 * await train(plan, { runDir, data, onEvent: createConsoleReporter({ every: 5 }) });
 */
export function createConsoleReporter(
  options: { every?: number; write?: (line: string) => void } = {},
): TrainEventHandler {
  const every = options.every ?? 10;
  const write = options.write ?? ((line: string) => log.info(line));
  return (e: TrainEvent) => {
    switch (e.type) {
      case 'run-start':
        write(
          `run ${e.plan}: ${e.phases} phases, ${e.totalSteps} steps -> ${e.runDir}${e.resumedFrom ? ` (resumed at ${e.resumedFrom.phase} step ${e.resumedFrom.step})` : ''}`,
        );
        break;
      case 'phase-start':
        write(
          `phase ${e.phaseIndex + 1}/${e.phases} ${e.phase}: ${e.steps} steps, trainable ${e.trainable.join(' + ')}${e.startStep > 0 ? `, from step ${e.startStep}` : ''}`,
        );
        break;
      case 'step':
        if (e.step % every === 0 || e.step === e.steps) {
          const losses = Object.entries(e.losses)
            .map(([k, v]) => `${k} ${fmt(v!)}`)
            .join('  ');
          write(
            `  ${e.phase} ${e.step}/${e.steps}  ${losses}  lr ${e.learningRate.toExponential(2)}  ${e.imagesPerSecond.toFixed(0)} img/s  phase left ${clock(e.phaseSecondsLeft)}  run left ${clock(e.runSecondsLeft)}`,
          );
        }
        break;
      case 'eval':
        write(
          `  eval ${e.phase} @${e.step}: ${Object.entries(e.metrics)
            .map(([k, v]) => `${k} ${fmt(v)}`)
            .join('  ')}${e.best ? '  (best)' : ''}`,
        );
        break;
      case 'checkpoint':
        if (e.kind !== 'best') write(`  checkpoint ${e.kind} ${e.phase} @${e.step}: ${e.path}`);
        break;
      case 'phase-end':
        write(
          `phase ${e.phase} done in ${clock(e.seconds)}${e.restoredBest ? ` (restored best of step ${e.restoredBest.step}, score ${fmt(e.restoredBest.score)})` : ''}`,
        );
        break;
      case 'gate-threshold':
        write(
          `gate threshold ${e.threshold.toFixed(4)}: sensitivity ${fmt(e.sensitivity)} (target ${e.targetSensitivity}), specificity ${fmt(e.specificity)} on validation`,
        );
        break;
      case 'stopped':
        write(
          `STOPPED in ${e.phase} at step ${e.step}: ${e.reason}${e.lastCheckpoint ? `; last good checkpoint ${e.lastCheckpoint}` : ''}`,
        );
        break;
      case 'run-end':
        write(`run ${e.status} in ${clock(e.seconds)}`);
        break;
    }
  };
}
