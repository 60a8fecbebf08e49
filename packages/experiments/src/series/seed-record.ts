import type { Gating } from '@multichexnet/model';
import type { Calibration } from '@multichexnet/trainer';
import type { ChanceBaselines } from '../tables/baselines';
import type { ExperimentConfig, Variant } from '../tables/experiment-config';
import type { Budget } from './budget';
import type { ImageRecords, MetricName } from './records';

/** One evaluation of a variant under one gating: its metrics on the whole test split and the per-image records. */
export interface SeedEvaluation {
  metrics: Partial<Record<MetricName, number>>;
  /** Per-class AUROC and F1 of CheXCls (when scored). */
  perClass?: { auroc: Record<string, number>; f1: Record<string, number> };
  calibration: Calibration;
  records: ImageRecords;
}

/** A variant of one seed: what trained it, what it cost, and its evaluations. */
export interface SeedVariant {
  variant: Variant;
  label: string;
  /** The gating of its Table 1 row (`gate` for models with a gate, else `none`). */
  gating: Gating;
  /** Optimizer steps of every phase that trained it (shared pre-training included). */
  steps: number;
  budget: Budget;
  trainSeconds: number;
  /** Table 1's evaluation under `gating`; gated variants also under `truth` and `none` (Table 2). */
  evaluations: Partial<Record<Gating, SeedEvaluation>>;
}

/** Tables 1 and 2 of one seed, as `seed-tables12.json` in the seed's folder. */
export interface SeedRecord {
  format: 'multichexnet-seed-tables12';
  formatVersion: 1;
  /** The protocol the seed ran under (null: no protocol, e.g. a smoke test). */
  protocol: { sha256: string; file: string; series: string } | null;
  seed: number;
  /** The commit of the code that ran the seed (see `currentProvenance`). */
  commit: string | null;
  config: ExperimentConfig;
  testImages: { nih: number; rsna: number; siim: number };
  chance: ChanceBaselines;
  variants: SeedVariant[];
  /** Wall-clock and CPU seconds of the calls that produced the seed (training includes resumed calls' time). */
  seconds: {
    generation: number;
    training: number;
    evaluation: number;
    total: number;
    cpu: number;
    runs: Record<string, number>;
  };
}

/** The file name of a seed's record inside its folder. */
export const SEED_RECORD_FILE = 'seed-tables12.json';
