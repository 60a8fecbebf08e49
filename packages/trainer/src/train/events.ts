import type { LossTask } from '../losses/loss-weighting';

/**
 * Progress of a training run, one event at a time (the CLI renders its progress bars from these; the default
 * console reporter prints them).
 */
export type TrainEvent =
  | {
      type: 'run-start';
      plan: string;
      runDir: string;
      phases: number;
      totalSteps: number;
      resumedFrom: { phase: string; step: number } | null;
    }
  | {
      type: 'phase-start';
      phase: string;
      phaseIndex: number;
      phases: number;
      steps: number;
      startStep: number;
      trainable: string[];
      description: string;
    }
  | {
      type: 'step';
      phase: string;
      phaseIndex: number;
      /** Steps completed in the phase (1-based). */
      step: number;
      steps: number;
      globalStep: number;
      totalSteps: number;
      losses: Partial<Record<LossTask, number>>;
      total: number;
      weights: Record<string, number>;
      learningRate: number;
      imagesPerSecond: number;
      /** Estimated seconds left in the phase and in the run. */
      phaseSecondsLeft: number;
      runSecondsLeft: number;
      routing: 'ground-truth' | 'gate' | null;
    }
  | { type: 'eval'; phase: string; step: number; metrics: Record<string, number>; score: number; best: boolean }
  | { type: 'checkpoint'; phase: string; step: number; path: string; kind: 'periodic' | 'phase-end' | 'best' }
  | {
      type: 'phase-end';
      phase: string;
      phaseIndex: number;
      seconds: number;
      restoredBest: { step: number; score: number } | null;
    }
  | { type: 'gate-threshold'; threshold: number; sensitivity: number; specificity: number; targetSensitivity: number }
  | { type: 'stopped'; phase: string; step: number; reason: string; lastCheckpoint: string | null }
  | { type: 'run-end'; status: 'completed' | 'aborted' | 'stopped'; seconds: number };

/** A receiver of {@link TrainEvent}s. */
export type TrainEventHandler = (event: TrainEvent) => void;
