import { DataError, writeFileAtomic } from '@multichexnet/core';
import { clsTask } from '@multichexnet/head-cls';
import type { Gating, MultiCheXNet } from '@multichexnet/model';
import { evalSummary, taskMetrics, type EvalRaw } from '@multichexnet/trainer';
import { checkPlan, frozenPlanForm, type LoadedProtocol } from '../protocol/protocol';
import { chanceBaselines } from '../tables/baselines';
import {
  ExperimentConfigSchema,
  VARIANTS,
  type ExperimentConfig,
  type ExperimentConfigInput,
  type Variant,
} from '../tables/experiment-config';
import {
  evaluateVariant,
  prepareExperiment,
  trainVariant,
  variantPlan,
  type ExperimentRuntime,
} from '../tables/run-variants';
import { VARIANT_LABELS, cpuSeconds } from '../tables/table1';
import { budgetOf } from './budget';
import { currentProvenance } from './provenance';
import { METRICS, imageRecords, type MetricName } from './records';
import { SEED_RECORD_FILE, type SeedEvaluation, type SeedRecord, type SeedVariant } from './seed-record';

/**
 * The plan a protocol freezes for a variant: the variant's plan at seed 0 with the size's step scale, in the form its
 * hash was frozen in ({@link frozenPlanForm}).
 */
export function protocolPlan(
  config: Pick<ExperimentConfig, 'size' | 'stepScale' | 'ablations'>,
  variant: Variant,
): { variant: Variant; plan: unknown } {
  const cfg = ExperimentConfigSchema.parse({
    out: '-',
    size: config.size,
    seed: 0,
    stepScale: config.stepScale,
    ablations: config.ablations,
  });
  return { variant, plan: frozenPlanForm(variantPlan(variant, cfg)) };
}

/** Reads a seed record, or null when the seed has not finished. */
export async function readSeedRecord(dir: string): Promise<SeedRecord | null> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const file = join(dir, SEED_RECORD_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
  const r = JSON.parse(text, (_k, v: unknown) => (v === 'NaN' ? Number.NaN : v)) as SeedRecord;
  if (r.format !== 'multichexnet-seed-tables12' || r.formatVersion !== 1) {
    throw new DataError('Not a seed record of Tables 1 and 2', {
      file,
      field: 'format',
      expected: 'multichexnet-seed-tables12 v1',
      found: `${String(r.format)} v${String(r.formatVersion)}`,
    });
  }
  return r;
}

function evaluationOf(r: Awaited<ReturnType<typeof evaluateVariant>>, model: MultiCheXNet): SeedEvaluation {
  // The table's metrics as the evaluation stored them: `<task>.<metric>` from each task's metrics, `gate.*` from the gate.
  const summary = evalSummary(r) as Record<string, Record<string, unknown> | undefined>;
  const metrics: Partial<Record<MetricName, number>> = {};
  for (const m of METRICS) {
    const [block, key] = m.split('.') as [string, string];
    const v = summary[block]?.[key];
    if (typeof v === 'number') metrics[m] = v;
  }
  const out: SeedEvaluation = { metrics, calibration: r.calibration, records: imageRecords(r, model) };
  const cls = taskMetrics(r, clsTask);
  if (cls !== undefined) out.perClass = { auroc: cls.perClassAuroc, f1: cls.perClassF1 };
  return out;
}

/**
 * One seed of Tables 1 and 2 in one folder: trains (or finds on disk) every variant of `config.variants`, scores
 * each on the test split with its decision settings chosen on validation data (gated models also under
 * ground-truth gating and no gating), and writes `seed-tables12.json` with the metrics and the per-image records
 * the confidence intervals resample. A finished folder is read, not recomputed (a record holding only some of the
 * variants is extended by the others); an interrupted one resumes from its checkpoints. With a protocol, every plan
 * must be the one it froze.
 *
 * @example
 * const record = await runSeed({ out: 'runs/series/seed-100', size: 'tiny', seed: 100, variants: [...VARIANTS] }, {}, { protocol, series: 'tiny' });
 */
export async function runSeed(
  config: ExperimentConfigInput,
  runtime: ExperimentRuntime,
  under: { protocol: LoadedProtocol; series: string } | null,
): Promise<SeedRecord> {
  const protocol = under?.protocol ?? null;
  const { join } = await import('node:path');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const resolved = ExperimentConfigSchema.parse(config);
  const done = await readSeedRecord(resolved.out);
  if (done !== null) {
    if ((done.protocol?.sha256 ?? null) !== (protocol?.sha256 ?? null)) {
      throw new DataError('The seed folder was run under another protocol', {
        file: join(resolved.out, SEED_RECORD_FILE),
        field: 'protocol.sha256',
        expected: protocol?.sha256 ?? 'none',
        found: done.protocol?.sha256 ?? 'none',
      });
    }
    if (resolved.variants.every((v) => done.variants.some((x) => x.variant === v))) return done;
  }
  if (under !== null)
    for (const v of resolved.variants) checkPlan(under.protocol, under.series, v, protocolPlan(resolved, v));
  const ctx = await prepareExperiment(config, runtime);
  // A record with fewer variants (a first pass with a subset) is extended: its variants are kept as they are.
  const variants: SeedVariant[] = [...(done?.variants ?? [])];
  // The test truths of each task (records of any evaluation that scored it), for the chance baselines.
  const truths: EvalRaw['tasks'] = {};
  let evaluation = 0;
  for (const variant of ctx.config.variants) {
    if (variants.some((x) => x.variant === variant)) continue;
    const v = await trainVariant(ctx, variant);
    try {
      const e0 = performance.now();
      // Gating concerns det / seg only: the stage-1 baseline is scored on CheXCls alone.
      const routes = v.model.taskSpecs.some((spec) => spec.routed) && variant !== 'stage1-cls';
      const gating: Gating = v.model.gate !== null && routes ? 'gate' : 'none';
      const gatings: Gating[] = gating === 'gate' ? ['gate', 'truth', 'none'] : [gating];
      ctx.emit({
        type: 'experiment',
        stage: 'evaluate',
        variant,
        message: `evaluating ${variant} on the test sets (${gatings.join(', ')})`,
      });
      const evaluations: SeedVariant['evaluations'] = {};
      for (const g of gatings) {
        const r = await evaluateVariant(ctx, v, g);
        evaluations[g] = evaluationOf(r, v.model);
        if (g === 'none' || g === gating) {
          for (const [task, records] of Object.entries(r.raw.tasks)) if (records.length > 0) truths[task] ??= records;
        }
      }
      evaluation += (performance.now() - e0) / 1000;
      variants.push({
        variant,
        label: VARIANT_LABELS[variant],
        gating,
        steps: v.steps,
        budget: budgetOf(v.phases, ctx.data),
        trainSeconds: v.seconds,
        evaluations,
      });
    } finally {
      v.model.dispose();
    }
  }
  // Training seconds per run folder (each run counted once, however many variants read it).
  const runs: Record<string, number> = { ...(done?.seconds.runs ?? {}), ...Object.fromEntries(ctx.runSeconds) };
  const merged: EvalRaw = { tasks: truths, gate: { scores: [], labels: [], positive: [], sources: [] } };
  const record: SeedRecord = {
    format: 'multichexnet-seed-tables12',
    formatVersion: 1,
    protocol:
      under === null ? null : { sha256: under.protocol.sha256, file: under.protocol.file, series: under.series },
    seed: ctx.config.seed,
    commit: currentProvenance('', '').commit,
    config: ctx.config,
    testImages: {
      nih: ctx.data.nih?.test.size ?? 0,
      rsna: ctx.data.rsna?.test.size ?? 0,
      siim: ctx.data.siim?.test.size ?? 0,
    },
    chance: done?.chance ?? chanceBaselines(merged, ctx.imageSize, ctx.config.seed),
    variants: [...variants].sort((a, b) => VARIANTS.indexOf(a.variant) - VARIANTS.indexOf(b.variant)),
    seconds: {
      generation: (done?.seconds.generation ?? 0) + ctx.generationSeconds,
      training: Object.values(runs).reduce((a, b) => a + b, 0),
      runs,
      evaluation: (done?.seconds.evaluation ?? 0) + evaluation,
      total: (done?.seconds.total ?? 0) + (performance.now() - t0) / 1000,
      cpu: (done?.seconds.cpu ?? 0) + cpuSeconds(cpu0),
    },
  };
  await writeFileAtomic(
    join(ctx.config.out, SEED_RECORD_FILE),
    `${JSON.stringify(record, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}\n`,
  );
  ctx.emit({
    type: 'experiment',
    stage: 'seed',
    message: `seed ${record.seed} finished in ${record.seconds.total.toFixed(0)} s (CPU ${record.seconds.cpu.toFixed(0)} s)`,
  });
  return record;
}
