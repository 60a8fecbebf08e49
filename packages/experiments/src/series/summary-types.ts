import type { Gating } from '@multichexnet/model';
import type { DifferenceInterval } from '../stats/bootstrap';
import type { SeedSummary } from '../stats/seed-summary';
import type { Variant } from '../tables/experiment-config';
import type { Budget } from './budget';
import type { MetricName } from './records';

/** Where a table came from: the command, the code and the machine. */
export interface Provenance {
  command: string;
  commit: string | null;
  /** Uncommitted changes in the working tree when the run started. */
  dirty: boolean | null;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  /** ISO time of the first and the latest call that worked on the series. */
  startedAt: string;
  updatedAt: string;
}

/** The frame every table of a series shares. */
export interface SeriesFrame {
  title: string;
  protocol: { sha256: string; frozenAt: string | null } | null;
  /** The protocol's series (size, step scale, seeds, variants). */
  series: string;
  size: string;
  stepScale: number;
  /** Seeds whose results the table holds, and the seeds the protocol asks for. */
  seeds: number[];
  plannedSeeds: number[];
  /** The commit that ran each seed (by seed). */
  seedCommits: Record<string, string | null>;
  bootstrap: { resamples: number; confidence: number };
  provenance: Provenance;
}

/** A difference A - B over the seeds, paired per seed and test image. */
export interface Comparison {
  metric: MetricName;
  a: string;
  b: string;
  interval: DifferenceInterval;
  seeds: number;
}

/** One row of Table 1 (means over seeds). */
export interface Table1SummaryRow {
  variant: Variant;
  label: string;
  kind: 'single-task (ungated)' | 'paper baseline (gated)' | 'MTL' | 'MTL ablation';
  gating: Gating;
  /** Steps and labelled images per head (mean over seeds, rounded). */
  budget: Budget;
  steps: number;
  trainSeconds: SeedSummary;
  metrics: Partial<Record<MetricName, SeedSummary>>;
  /** Per-class AUROC and F1 of CheXCls (mean over seeds). */
  perClass?: { auroc: Record<string, number>; f1: Record<string, number> };
}

/** Table 1 over seeds, as `table1.json`. */
export interface Table1Summary extends SeriesFrame {
  testImages: { nih: number; rsna: number; siim: number };
  /** Chance baselines (mean over seeds): constant / random scores, no boxes / one random box, empty / full masks. */
  chance: Record<string, SeedSummary>;
  rows: Table1SummaryRow[];
  /** Every MTL row minus each baseline of the same head, per metric. */
  comparisons: Comparison[];
  verdict: string;
}

/** One row of Table 2: a gated model under one gating. */
export interface Table2SummaryRow {
  variant: Variant;
  label: string;
  gating: Gating;
  metrics: Partial<Record<MetricName, SeedSummary>>;
}

/** Table 2 over seeds, as `table2.json`. */
export interface Table2Summary extends SeriesFrame {
  rows: Table2SummaryRow[];
  /** Per gated model: trained gate minus ground-truth gating, and trained gate minus no gating. */
  comparisons: Comparison[];
  verdict: string;
}
