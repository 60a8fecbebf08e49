import type { ScheduleConfig } from './optimizer-config';

/**
 * The learning rate of step `step` (0-based) of a phase of `totalSteps` steps.
 *
 * @example
 * learningRateAt({ type: 'cosine', warmupSteps: 10, minFactor: 0.1 }, 1e-3, 0, 100);   // 1e-4 (warm-up 1/10)
 */
export function learningRateAt(schedule: ScheduleConfig, base: number, step: number, totalSteps: number): number {
  switch (schedule.type) {
    case 'constant':
      return base;
    case 'step':
      return base * schedule.gamma ** Math.floor(step / schedule.stepSize);
    case 'cosine': {
      const { warmupSteps, minFactor } = schedule;
      if (step < warmupSteps) return (base * (step + 1)) / warmupSteps;
      const span = Math.max(1, totalSteps - warmupSteps);
      const progress = Math.min(1, (step - warmupSteps) / span);
      return base * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}
