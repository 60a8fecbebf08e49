import type { Rng } from '@multichexnet/core';
import type { Anatomy, Pose } from '../anatomy';
import type { DrawnFinding, Scene } from '../scene';

/*
 * The shape every finding painter has (kept apart from the painter table so painters never import the table).
 */

/** Options of one finding: `count` separate instances where that applies, `severity` in [0, 1]. */
export interface FindingOptions {
  count?: number;
  severity?: number;
}

/**
 * The three moments a finding can act, sharing state through the closure: `adjust` changes the patient's
 * anatomy before any geometry exists (a big heart, a flat diaphragm, volume loss); `prepare` runs on the
 * geometry before the normal anatomy is drawn (a pneumothorax removes lung markings); `draw` adds the
 * finding's own densities. Each returns the drawn instances (masks and boxes) where it has any.
 */
export interface FindingSteps {
  adjust?(a: Anatomy, pose: Pose): void;
  prepare?(scene: Scene): DrawnFinding[];
  draw?(scene: Scene): DrawnFinding[];
}

/** Creates the steps of one finding from its own random stream. */
export type FindingPainter = (rng: Rng, opts: FindingOptions) => FindingSteps;

/** Severity in [0, 1]: the given one, else a random moderate-to-marked one. */
export function severityOf(rng: Rng, opts: FindingOptions): number {
  return opts.severity ?? rng.uniform(0.35, 1);
}
