import { access, cp, mkdir, readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { RUN_FILES, parseConfig, runFolder, writeFileAtomic, z, SeedSchema } from '@multichexnet/core';
import { loadMultiCheXNet } from '@multichexnet/model';
import {
  PLAN_SIZES,
  builtinPlan,
  openTrainingData,
  parsePlan,
  type DatasetRoots,
  type TrainingData,
  type TrainingPlan,
} from '@multichexnet/trainer';
import { ExperimentConfigSchema } from '@multichexnet/experiments';
import type { CommandContext } from '../context';
import { routeLibraryLogs } from './prepare';
import { createTrainProgress } from '../io/train-progress';
import { formatDuration } from '../io/progress';
import { completeRun, startBackend, writeRunData, type RunOutputs } from '../run/run-folder';
import { runTables } from './experiment';
import { runSynth } from './synth';
import { headlineLines } from './train';

/** Options of the quickstart: where, which seed, which backend. */
export const QuickstartConfigSchema = z
  .object({
    /** The run folder: the MultiCheXNet model, its report, and the experiment (data/, one folder per variant). */
    out: z.string().min(1).default('runs/quickstart'),
    seed: SeedSchema.default(0),
    /**
     * Plan size of every variant: `tiny` (densenet-tiny at 128 px, the default) or `small` (the same step counts,
     * densenet-small at 256 px: several times longer, see the README); `full` is the paper-scale protocol (hours).
     */
    size: z.enum(PLAN_SIZES).default('tiny'),
    /** Step counts of every phase multiplied by this (1: the tiny preset as is; smaller for a smoke run). */
    stepScale: z.number().gt(0).max(10).default(1),
    /** Synthetic images per dataset; omitted counts take the experiment's defaults. */
    synthetic: z
      .object({
        nih: z.number().int().positive(),
        rsna: z.number().int().positive(),
        siim: z.number().int().positive(),
      })
      .partial()
      .strict()
      .default({}),
    backend: z.enum(['auto', 'wasm', 'tensorflow', 'cpu']).default('auto'),
  })
  .strict();
/** What users pass to the quickstart. */
export type QuickstartConfigInput = z.input<typeof QuickstartConfigSchema>;

/** The model the quickstart folder presents (its ONNX files, eval and report). */
const MAIN_VARIANT = 'multichexnet-joint';

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** metrics.jsonl of the shared pre-training then the joint MTL run, on one global step axis. */
async function mergeMetrics(
  parts: { file: string; stepOffset: number; phaseOffset: number }[],
  out: string,
): Promise<void> {
  const lines: string[] = [];
  for (const p of parts) {
    let text = '';
    try {
      text = await readFile(p.file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as { globalStep: number; phaseIndex?: number };
      r.globalStep += p.stepOffset;
      if (r.phaseIndex !== undefined) r.phaseIndex += p.phaseOffset;
      lines.push(JSON.stringify(r));
    }
  }
  await writeFileAtomic(out, lines.length > 0 ? `${lines.join('\n')}\n` : '');
}

/**
 * The README's main job: synthetic NIH / RSNA / SIIM data, the whole MultiCheXNet protocol (tiny plan size by default)
 * through @multichexnet/experiments (Table 1: every variant; Table 2: the gate), then the MultiCheXNet
 * (pre-trained + joint MTL) model presented in `out`: its plan, merged training metrics, weights, ONNX export,
 * test evaluation, gallery and report.html.
 *
 * @example
 * const r = await runQuickstart(ctx, { out: 'runs/quickstart', seed: 0 });   // r.outputs.report, r.verdict
 */
export async function runQuickstart(
  ctx: CommandContext,
  input: QuickstartConfigInput,
): Promise<{ out: string; outputs: RunOutputs; seconds: number; verdict: string; film: string | null }> {
  const cfg = parseConfig(QuickstartConfigSchema, input, 'quickstart options');
  const started = performance.now();
  const out = ctx.path(cfg.out);
  await startBackend(ctx, cfg.backend);
  const experimentInput = { out, size: cfg.size, seed: cfg.seed, stepScale: cfg.stepScale, synthetic: cfg.synthetic };
  const experiment = parseConfig(ExperimentConfigSchema, experimentInput, 'experiment config');
  const builtin = parsePlan(builtinPlan(MAIN_VARIANT, { size: cfg.size, seed: cfg.seed }));

  // 1. Data: written where the experiment looks for it (<out>/data), so it reuses it; the bar shows the writing.
  const dataRoot = join(out, 'data');
  if (!(await exists(join(dataRoot, 'synth.json')))) {
    const { nih, rsna, siim } = experiment.synthetic;
    await runSynth(ctx, {
      out: dataRoot,
      nih,
      rsna,
      siim,
      covid: 0,
      size: builtin.imageSize,
      seed: cfg.seed,
      annotationSpace: 'original',
    });
  } else {
    ctx.reporter.info(`reusing the synthetic data in ${dataRoot}`);
  }

  // 2. The protocol: every variant of Table 1, then Table 2 on the trained gated models.
  const tables = await runTables(ctx, ['table1', 'table2'], experimentInput, {
    onEvent: createTrainProgress(ctx.reporter),
  });

  // 3. The MultiCheXNet model as this folder's run: its plan is the shared pre-training's phases then the joint
  //    variant's (as the experiment ran them, step scale included), metrics on one axis, weights.
  const readPlan = async (dir: string): Promise<TrainingPlan> =>
    parsePlan(JSON.parse(await readFile(join(out, dir, RUN_FILES.plan), 'utf8')));
  const pre = await readPlan('pretrain');
  const joint = await readPlan(MAIN_VARIANT);
  const plan = parsePlan({
    ...joint,
    name: builtin.name,
    description: builtin.description,
    phases: [...pre.phases, ...joint.phases],
  });
  const pretrainSteps = pre.phases.reduce((a, p) => a + p.steps, 0);
  const pretrainPhases = pre.phases.length;
  await writeFileAtomic(join(out, RUN_FILES.plan), `${JSON.stringify(plan, null, 2)}\n`);
  await mergeMetrics(
    [
      { file: join(out, 'pretrain', RUN_FILES.metrics), stepOffset: 0, phaseOffset: 0 },
      { file: join(out, MAIN_VARIANT, RUN_FILES.metrics), stepOffset: pretrainSteps, phaseOffset: pretrainPhases },
    ],
    join(out, RUN_FILES.metrics),
  );
  await cp(join(out, MAIN_VARIANT, RUN_FILES.validation), join(out, RUN_FILES.validation));
  const run = runFolder(out);
  await rm(run.weights, { recursive: true, force: true });
  await mkdir(run.weights, { recursive: true });
  await cp(runFolder(join(out, MAIN_VARIANT)).weights, run.weights, { recursive: true });
  const roots: DatasetRoots = {
    nih: join(dataRoot, 'nih'),
    rsna: join(dataRoot, 'rsna'),
    siim: join(dataRoot, 'siim'),
  };
  const split = { ...experiment.split, seed: experiment.seed };
  await writeRunData(out, { roots, split });

  // 4. Export, test evaluation (the experiment's split), gallery, report.
  const data = await openTrainingData(roots, split);
  const model = await loadMultiCheXNet(run.weights);
  let outputs: RunOutputs;
  try {
    outputs = await completeRun(ctx, { runDir: out, model, plan, data, export: true, evaluate: true, report: true });
  } finally {
    model.dispose();
  }
  return {
    out,
    outputs,
    seconds: (performance.now() - started) / 1000,
    verdict: tables.table1?.verdict ?? '',
    film: testFilm(data),
  };
}

/** A film of the RSNA test split to try `predict` on (a DICOM, with pneumonia boxes when one has them), or null. */
function testFilm(data: TrainingData): string | null {
  const test = data.rsna?.test;
  if (test === undefined || test.size === 0) return null;
  const entry = test.entries.find((e) => (e.boxes?.length ?? 0) > 0) ?? test.entries[0]!;
  return join(test.root, entry.file);
}

/** `p` as typed in a shell in the current folder: relative when it lies below it, quoted when it needs to be. */
function fromHere(ctx: CommandContext, p: string): string {
  const rel = relative(ctx.path('.'), p);
  const typed = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? p : rel;
  return /^[\w@%+=:,./-]+$/.test(typed) ? typed : `'${typed.replace(/'/g, `'\\''`)}'`;
}

/** Options of `multichexnet quickstart`. */
export interface QuickstartOptions {
  out: string;
  seed: number;
  size: string;
  backend: string;
  stepScale: number;
  nih?: number;
  rsna?: number;
  siim?: number;
}

/** The `quickstart` verb. */
export async function quickstartAction(ctx: CommandContext, o: QuickstartOptions): Promise<void> {
  routeLibraryLogs(ctx);
  const synthetic = {
    ...(o.nih !== undefined ? { nih: o.nih } : {}),
    ...(o.rsna !== undefined ? { rsna: o.rsna } : {}),
    ...(o.siim !== undefined ? { siim: o.siim } : {}),
  };
  const r = await runQuickstart(ctx, {
    out: o.out,
    seed: o.seed,
    size: o.size as 'tiny',
    backend: o.backend as 'auto',
    stepScale: o.stepScale,
    synthetic,
  });
  const m = r.outputs.evaluation?.metrics ?? null;
  ctx.emit(
    {
      out: r.out,
      seconds: r.seconds,
      model: r.outputs.exported,
      test: m,
      calibration: r.outputs.calibration ?? null,
      report: r.outputs.report,
      tables: [join(r.out, 'table1.md'), join(r.out, 'table2.md')],
      verdict: r.verdict,
    },
    [
      `quickstart done in ${formatDuration(r.seconds)}: ${r.out}`,
      'MultiCheXNet (pre-trained + joint MTL), test split:',
      ...headlineLines(m, r.outputs.evaluation?.calibration),
      ...(r.verdict ? [`Table 1: ${r.verdict}`] : []),
      `model:   ${r.outputs.exported?.model ?? '(not exported)'}`,
      `tables:  ${join(r.out, 'table1.md')}, ${join(r.out, 'table2.md')}`,
      `report:  ${r.outputs.report ?? '(not written)'}`,
      // Runnable as printed from this folder: in a clone `npx` finds the workspace's bin (packages/cli/bin), elsewhere
      // the installed @multichexnet/cli.
      `next:    npx multichexnet predict --model ${fromHere(ctx, r.outputs.exported?.model ?? runFolder(r.out).model)} ${r.film === null ? '<image.png|.jpg|.dcm>' : `${fromHere(ctx, r.film)}   # a synthetic test film, or your own PNG / JPEG / DICOM`}`,
    ],
  );
}
