import { DataError } from '@multichexnet/core';
import type { Gating } from '@multichexnet/model';
import { summariseSeeds } from '../stats/seed-summary';
import { MTL_FROM_PRETRAIN, STAGE_VARIANTS, type Variant } from '../tables/experiment-config';
import type { Budget } from './budget';
import { METRICS, taskOf, type MetricName } from './records';
import { pairedComparison } from './paired-comparison';
import type { SeedRecord, SeedVariant } from './seed-record';
import type {
  Comparison,
  SeriesFrame,
  Table1Summary,
  Table1SummaryRow,
  Table2Summary,
  Table2SummaryRow,
} from './summary-types';

/** MTL rows: BigBang, MultiCheXNet joint / alternating, and the ablations. */
const MTL: readonly Variant[] = ['bigbang', ...MTL_FROM_PRETRAIN];
/** The baselines of each head: the ungated single-task model and the paper's (the pre-training stage, gated). */
const BASELINES: Record<'cls' | 'det' | 'seg', readonly Variant[]> = {
  cls: ['single-cls', 'stage1-cls'],
  det: ['single-det', 'stage2-det'],
  seg: ['single-seg', 'stage3-seg'],
};
/** Metrics compared between MTL and the baselines (gate metrics have no single-task counterpart). */
const COMPARED: readonly MetricName[] = METRICS.filter((m) => taskOf(m) !== 'gate' && m !== 'cls.sensitivity');

function kindOf(v: Variant): Table1SummaryRow['kind'] {
  if (v.startsWith('single-')) return 'single-task (ungated)';
  if (STAGE_VARIANTS.includes(v)) return 'paper baseline (gated)';
  if (v === 'multichexnet-joint-gradnorm' || v === 'multichexnet-joint-pcgrad') return 'MTL ablation';
  return 'MTL';
}

function metricsOf(
  evals: (SeedVariant['evaluations'][Gating] | undefined)[],
): Partial<Record<MetricName, ReturnType<typeof summariseSeeds>>> {
  const out: Partial<Record<MetricName, ReturnType<typeof summariseSeeds>>> = {};
  for (const m of METRICS) {
    const values = evals.map((e) => e?.metrics[m]).filter((v): v is number => v !== undefined);
    if (values.length > 0) out[m] = summariseSeeds(values);
  }
  return out;
}

function meanBudget(budgets: Budget[]): Budget {
  const out: Budget = {};
  for (const h of ['cls', 'det', 'seg'] as const) {
    const b = budgets.map((x) => x[h]).filter((x) => x !== undefined);
    if (b.length > 0)
      out[h] = {
        steps: Math.round(b.reduce((s, x) => s + x.steps, 0) / b.length),
        images: Math.round(b.reduce((s, x) => s + x.images, 0) / b.length),
      };
  }
  return out;
}

function meanRecord(rows: Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, summariseSeeds(rows.map((r) => r[k] ?? Number.NaN)).mean]));
}

function variantOf(seed: SeedRecord, v: Variant): SeedVariant | undefined {
  return seed.variants.find((x) => x.variant === v);
}

/** Paired bootstrap of metric(A) - metric(B) over the seeds that hold both, or null when none does. */
function compare(
  seeds: SeedRecord[],
  m: MetricName,
  a: { v: Variant; g?: Gating },
  b: { v: Variant; g?: Gating },
  frame: SeriesFrame,
  key: string,
): Comparison | null {
  const pairs = seeds.flatMap((s) => {
    const va = variantOf(s, a.v);
    const vb = variantOf(s, b.v);
    const ea = va === undefined ? undefined : va.evaluations[a.g ?? va.gating];
    const eb = vb === undefined ? undefined : vb.evaluations[b.g ?? vb.gating];
    return ea === undefined || eb === undefined ? [] : [{ a: ea.records, b: eb.records }];
  });
  const name = (x: { v: Variant; g?: Gating }): string => (x.g === undefined ? x.v : `${x.v} (${x.g})`);
  return pairedComparison(pairs, m, { a: name(a), b: name(b) }, frame, key);
}

function checkSeeds(seeds: SeedRecord[]): void {
  const sha = new Set(seeds.map((s) => s.protocol?.sha256 ?? 'none'));
  if (sha.size > 1)
    throw new DataError('Seeds of one table ran under different protocols', {
      field: 'protocol.sha256',
      expected: 'one protocol',
      found: [...sha].join(', '),
    });
}

function countVerdicts(cs: Comparison[]): { better: string[]; worse: string[]; none: string[] } {
  const out = { better: [] as string[], worse: [] as string[], none: [] as string[] };
  for (const c of cs) {
    const name = c.metric;
    if (c.interval.verdict === 'better') out.better.push(name);
    else if (c.interval.verdict === 'worse') out.worse.push(name);
    else out.none.push(name);
  }
  return out;
}

function verdict1(cs: Comparison[], seeds: number, confidence: number): string {
  if (cs.length === 0) return 'No comparison: the baselines or the MTL variants were not trained.';
  const pct = `${Math.round(confidence * 1000) / 10}%`;
  const parts: string[] = [];
  for (const a of ['multichexnet-joint', 'multichexnet-alternating']) {
    for (const kind of ['paper', 'single'] as const) {
      const mine = cs.filter(
        (c) => c.a === a && (kind === 'paper' ? c.b.startsWith('stage') : c.b.startsWith('single-')),
      );
      if (mine.length === 0) continue;
      const v = countVerdicts(mine);
      const list = (xs: string[]): string => (xs.length === 0 ? 'none' : xs.join(', '));
      parts.push(
        `${a} vs the ${kind === 'paper' ? "paper's gated stage baselines" : 'ungated single-task models'}: better on ${list(v.better)}; worse on ${list(v.worse)}; no difference at ${pct} on ${list(v.none)}.`,
      );
    }
  }
  const all = countVerdicts(cs);
  const head =
    all.better.length === 0
      ? `No MTL row beat a baseline on any metric at ${pct} (${cs.length} comparisons, ${seeds} seeds): ${all.worse.length} worse, ${all.none.length} no difference.`
      : `${all.better.length} of ${cs.length} MTL-minus-baseline differences are better at ${pct}, ${all.worse.length} worse, ${all.none.length} no difference (${seeds} seeds).`;
  return [head, ...parts].join(' ');
}

/**
 * Table 1 over the finished seeds: per variant the mean and sample sd of every metric (both families), the budget
 * per head, per-class AUROC / F1; and for every MTL row against each baseline of the same head the paired
 * two-level bootstrap interval of the difference (seeds, then test images) with its verdict.
 */
export function summariseTable1(seeds: SeedRecord[], frame: SeriesFrame): Table1Summary {
  checkSeeds(seeds);
  const variants = [...new Set(seeds.flatMap((s) => s.variants.map((v) => v.variant)))];
  const rows: Table1SummaryRow[] = variants.map((variant) => {
    const vs = seeds.map((s) => variantOf(s, variant)).filter((v): v is SeedVariant => v !== undefined);
    const first = vs[0]!;
    const evals = vs.map((v) => v.evaluations[v.gating]);
    const row: Table1SummaryRow = {
      variant,
      label: first.label,
      kind: kindOf(variant),
      gating: first.gating,
      budget: meanBudget(vs.map((v) => v.budget)),
      steps: first.steps,
      trainSeconds: summariseSeeds(vs.map((v) => v.trainSeconds)),
      metrics: metricsOf(evals),
    };
    const pcs = evals.map((e) => e?.perClass).filter((p) => p !== undefined);
    if (pcs.length > 0)
      row.perClass = { auroc: meanRecord(pcs.map((p) => p.auroc)), f1: meanRecord(pcs.map((p) => p.f1)) };
    return row;
  });
  const comparisons: Comparison[] = [];
  for (const a of MTL.filter((v) => variants.includes(v))) {
    for (const m of COMPARED) {
      for (const b of BASELINES[taskOf(m) as 'cls' | 'det' | 'seg'].filter((v) => variants.includes(v))) {
        const c = compare(seeds, m, { v: a }, { v: b }, frame, `table1/${a}-${b}`);
        if (c !== null) comparisons.push(c);
      }
    }
  }
  const chanceKeys = [
    ...new Set(
      seeds.flatMap((s) =>
        Object.entries(s.chance).flatMap(([t, o]) => Object.keys(o as object).map((k) => `${t}.${k}`)),
      ),
    ),
  ];
  const chance = Object.fromEntries(
    chanceKeys.map((k) => {
      const [t, name] = k.split('.') as [string, string];
      return [
        k,
        summariseSeeds(
          seeds.map((s) => (s.chance as Record<string, Record<string, number> | undefined>)[t]?.[name] ?? Number.NaN),
        ),
      ];
    }),
  );
  const mean = (f: (s: SeedRecord) => number): number =>
    Math.round(seeds.reduce((x, s) => x + f(s), 0) / Math.max(1, seeds.length));
  return {
    ...frame,
    testImages: {
      nih: mean((s) => s.testImages.nih),
      rsna: mean((s) => s.testImages.rsna),
      siim: mean((s) => s.testImages.siim),
    },
    chance,
    rows,
    comparisons,
    verdict: verdict1(comparisons, seeds.length, frame.bootstrap.confidence),
  };
}

/**
 * Table 2 over the finished seeds: det / seg and gate metrics of every gated model under the trained gate,
 * ground-truth gating and no gating (mean, sd), with the paired intervals of gate minus truth (what the gate's
 * mistakes cost) and gate minus none (what gating buys).
 */
export function summariseTable2(seeds: SeedRecord[], frame: SeriesFrame): Table2Summary {
  checkSeeds(seeds);
  const variants = [
    ...new Set(seeds.flatMap((s) => s.variants.filter((v) => v.evaluations.truth !== undefined).map((v) => v.variant))),
  ];
  const rows: Table2SummaryRow[] = [];
  const comparisons: Comparison[] = [];
  for (const variant of variants) {
    const vs = seeds.map((s) => variantOf(s, variant)).filter((v): v is SeedVariant => v !== undefined);
    for (const g of ['gate', 'truth', 'none'] as const)
      rows.push({ variant, label: vs[0]!.label, gating: g, metrics: metricsOf(vs.map((v) => v.evaluations[g])) });
    for (const m of COMPARED.filter((x) => taskOf(x) === 'det' || taskOf(x) === 'seg')) {
      for (const other of ['truth', 'none'] as const) {
        const c = compare(
          seeds,
          m,
          { v: variant, g: 'gate' },
          { v: variant, g: other },
          frame,
          `table2/${variant}/gate-${other}`,
        );
        if (c !== null) comparisons.push(c);
      }
    }
  }
  const vsTruth = countVerdicts(comparisons.filter((c) => c.b.endsWith('(truth)')));
  const vsNone = countVerdicts(comparisons.filter((c) => c.b.endsWith('(none)')));
  const pct = `${Math.round(frame.bootstrap.confidence * 1000) / 10}%`;
  const verdict =
    comparisons.length === 0
      ? 'No gated model was evaluated.'
      : `Trained gate vs ground-truth gating: worse on ${vsTruth.worse.length}, better on ${vsTruth.better.length}, no difference at ${pct} on ${vsTruth.none.length} of ${vsTruth.worse.length + vsTruth.better.length + vsTruth.none.length} det / seg metrics. Trained gate vs no gating: better on ${vsNone.better.length}, worse on ${vsNone.worse.length}, no difference on ${vsNone.none.length}.`;
  return { ...frame, rows, comparisons, verdict };
}
