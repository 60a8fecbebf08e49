import { createRng, tf } from '@multichexnet/core';
import { createBatchStream } from '@multichexnet/data';
import { auroc, clsTask, f1Score, sensitivityAtSpecificity } from '@multichexnet/head-cls';
import { buildModel, type MultiCheXNet } from '@multichexnet/model';
import { builtinPlan, parsePlan } from '@multichexnet/trainer';
import {
  datasetLabels,
  fineTune,
  transferLabels,
  type FineTuneResult,
  type FreezeMode,
  type TransferSplits,
} from '@multichexnet/transfer';
import type { TransferExperimentConfigInput } from './config';
import {
  maskArea,
  withTransferContext,
  sourceModel,
  type SourceModel,
  type TransferContext,
  type TransferExperimentRuntime,
} from './context';
import { cell, markdownTable, spreadCell } from '../tables/markdown';
import { spreadOf, type Spread } from './stats';
import { clsRecords, type ImageRecords } from '../series/records';
import { publishTable } from '../tables/table-files';

/** The three ways to get a COVID-19 classifier that Table 3 compares. */
export const TABLE3_METHODS = ['scratch', 'stage1', 'mtl'] as const;
/** One of {@link TABLE3_METHODS}. */
export type Table3Method = (typeof TABLE3_METHODS)[number];

/** One fine-tuning run of a Table 3 row (test-split metrics; class means when there are several classes). */
export interface Table3Run {
  seed: number;
  auroc: number;
  f1: number;
  /** Sensitivity at the fixed specificity, and the specificity reached there. */
  sensitivity: number;
  specificity: number;
  /** Per class (same metrics). */
  perClass: Record<string, { auroc: number; f1: number; f1Threshold: number; sensitivity: number }>;
  finalLoss: number;
  trainSeconds: number;
  /** The COVID split of this seed: images per split and test positives (first class). */
  split: { train: number; val: number; test: number; testPositives: number };
  /** Test labels and scores per image, for the paired intervals of a series. */
  records: ImageRecords;
}

/** One row of Table 3. */
export interface Table3Row {
  method: Table3Method;
  label: string;
  freeze: FreezeMode;
  lrMultiplier: number;
  steps: number;
  /** Where the transferred weights came from (null for scratch). */
  source: { provenance: string; steps: number | null; seconds: number } | null;
  runs: Table3Run[];
  summary: { auroc: Spread; f1: Spread; sensitivity: Spread };
}

/** Table 3 as written to `table3.json`. */
export interface Table3 {
  title: string;
  config: TransferContext['config'];
  classes: string[];
  /** COVID set: images and positives per split (first class) of the experiment seed's split. */
  data: {
    root: string;
    resplit: boolean;
    images: { train: number; val: number; test: number };
    positives: { train: number; val: number; test: number };
  };
  specificity: number;
  /** Scores of predictors that know nothing, on the same test labels (means over the seeds' test splits). */
  chance: {
    constant: { auroc: number; f1: number; sensitivity: number };
    random: { auroc: number; f1: number; sensitivity: number };
  };
  rows: Table3Row[];
  /**
   * "Free" localisation: the MTL-transferred model (first seed) runs its untouched det / seg heads on every
   * COVID-19-positive test film; `routed` counts those its gate (now reading the new class) would pass on.
   */
  localisation: {
    positives: number;
    routed: number;
    withBoxes: number;
    meanBoxes: number;
    withMask: number;
    meanMaskFraction: number;
  } | null;
  verdict: string;
  seconds: { generation: number; sources: number; fineTuning: number; total: number };
  markdown: string;
}

const LABELS: Record<Table3Method, string> = {
  scratch: 'Trained from scratch on the COVID set',
  stage1: 'Transfer from the stage-1 classifier (NIH)',
  mtl: 'Transfer from MultiCheXNet (MTL)',
};

function positivesOf(labels: Float32Array[]): number {
  return labels.filter((r) => r[0] === 1).length;
}

function chanceOf(labels: Float32Array[], specificity: number, seed: number): Table3['chance'] {
  const y = Float32Array.from(labels, (r) => r[0]!);
  const constant = new Float32Array(y.length).fill(0.5);
  const rng = createRng(seed);
  const random = Float32Array.from(y, () => rng.next());
  const f1All = f1Score(
    Array.from(y, (v) => Float32Array.of(v)),
    Array.from(y, () => Float32Array.of(1)),
    { threshold: 0.5 },
  ).macro;
  return {
    constant: {
      auroc: auroc(y, constant),
      f1: f1All,
      sensitivity: sensitivityAtSpecificity(y, constant, specificity).sensitivity,
    },
    random: {
      auroc: auroc(y, random),
      f1: f1Score(
        Array.from(y, (v) => Float32Array.of(v)),
        Array.from(random, (v) => Float32Array.of(v)),
        { threshold: 0.5 },
      ).macro,
      sensitivity: sensitivityAtSpecificity(y, random, specificity).sensitivity,
    },
  };
}

function runOf(seed: number, r: FineTuneResult, split: TransferSplits, specificity: number): Table3Run {
  const t = r.test!;
  const scores = r.testScores!;
  const perClass: Table3Run['perClass'] = {};
  for (const [c, m] of Object.entries(t.perClass))
    perClass[c] = { auroc: m.auroc, f1: m.f1, f1Threshold: m.f1Threshold, sensitivity: m.sensitivity };
  const first = t.perClass[t.classes[0]!]!;
  return {
    seed,
    auroc: t.meanAuroc,
    f1: t.macroF1,
    sensitivity: t.meanSensitivity,
    specificity: first.specificity,
    perClass,
    finalLoss: r.history[r.history.length - 1]?.loss ?? Number.NaN,
    trainSeconds: r.trainSeconds,
    split: {
      train: split.train.size,
      val: split.val?.size ?? 0,
      test: split.test?.size ?? 0,
      testPositives: positivesOf(r.testScores?.labels ?? []),
    },
    records: {
      cls: clsRecords(
        scores,
        Object.fromEntries(Object.entries(t.perClass).map(([c, m]) => [c, m.f1Threshold])),
        specificity,
      ),
    },
  };
}

async function localise(
  ctx: TransferContext,
  split: TransferSplits,
  model: MultiCheXNet,
  imageSize: number,
  preprocess: object,
): Promise<Table3['localisation']> {
  if (!model.taskSpecs.some((s) => s.routed)) return null;
  const classes = model.headOf(clsTask)!.config.classes;
  const test = split.test;
  if (test === undefined) return null;
  const positives = test.entries.flatMap((e, i) => (transferLabels(e, classes)[0] === 1 ? [i] : []));
  const out = { positives: positives.length, routed: 0, withBoxes: 0, meanBoxes: 0, withMask: 0, meanMaskFraction: 0 };
  if (positives.length === 0) return out;
  let boxes = 0;
  let area = 0;
  const stream = createBatchStream({
    datasets: test.subset(positives),
    batchSize: 16,
    shuffle: false,
    augment: false,
    preprocess: { ...preprocess, size: imageSize },
    prefetch: 1,
    cache: ctx.cache,
  });
  for await (const batch of stream) {
    const x = tf.tensor4d(batch.images, [batch.size, batch.imageSize, batch.imageSize, 1]);
    try {
      // det / seg on every positive film (the heads' own view), and the gate's decision for each.
      const preds = model.predict(x, { gating: 'none' });
      for (const p of preds) {
        if (p.gate?.positive === true) out.routed++;
        const n = p.boxes?.length ?? 0;
        boxes += n;
        if (n > 0) out.withBoxes++;
        const a = maskArea(p.mask);
        if (a > 0) out.withMask++;
        area += p.mask == null ? 0 : a / (p.mask.width * p.mask.height);
      }
    } finally {
      x.dispose();
    }
  }
  out.meanBoxes = boxes / positives.length;
  out.meanMaskFraction = area / positives.length;
  return out;
}

/**
 * The comparison the table supports: per seed the three rows share a split, so transfer minus scratch is paired;
 * a difference only counts when every seed agrees in sign, since one test split of a small set moves AUROC a lot
 * on its own (a series gives the paired bootstrap interval instead).
 */
function verdictOf(rows: Table3Row[]): string {
  const scratch = rows.find((r) => r.method === 'scratch');
  const transfer = rows.filter((r) => r.method !== 'scratch');
  if (scratch === undefined || transfer.length === 0) return 'No comparison.';
  const parts = transfer.map((r) => {
    const d = r.runs.map((x, k) => x.auroc - (scratch.runs[k]?.auroc ?? Number.NaN)).filter((v) => Number.isFinite(v));
    const mean = d.length > 0 ? d.reduce((u, v) => u + v, 0) / d.length : Number.NaN;
    const wins = d.filter((v) => v > 0).length;
    return { label: r.label, mean, wins, n: d.length };
  });
  const text = parts
    .map((p) => `${p.label} ${p.mean >= 0 ? '+' : ''}${cell(p.mean)} (better on ${p.wins} of ${p.n} seeds)`)
    .join('; ');
  const clear = parts.filter((p) => p.n > 1 && (p.wins === p.n || p.wins === 0));
  const aboveChance = rows.filter((r) => r.summary.auroc.n > 1 && r.summary.auroc.min > 0.5).map((r) => r.label);
  const chance =
    aboveChance.length > 0
      ? `Above chance (AUROC > 0.5 on every seed): ${aboveChance.join(', ')}.`
      : 'No row is above chance (AUROC > 0.5) on every seed.';
  const verdict =
    clear.length === 0
      ? 'no difference holds on every seed, so none is established at this size'
      : clear.map((p) => `${p.label} is ${p.wins === p.n ? 'better' : 'worse'} on every seed`).join('; ');
  return `Mean test AUROC minus training from scratch (paired by seed): ${text}. ${verdict.charAt(0).toUpperCase()}${verdict.slice(1)}. ${chance}`;
}

function markdownOf(t: Omit<Table3, 'markdown'>): string {
  const spec = cell(t.specificity, 2);
  const header = ['Model', 'AUROC', 'F1', `Sensitivity @ specificity ${spec}`, 'freeze', 'lr mult.', 'steps'];
  // the chance baselines have metrics only (no freeze mode, multiplier or steps)
  const chanceRow = (label: string, c: Table3['chance']['constant']): string[] => [
    label,
    cell(c.auroc),
    cell(c.f1),
    cell(c.sensitivity),
    '–',
    '–',
    '–',
  ];
  const rows: string[][] = [
    chanceRow('Chance: constant score', t.chance.constant),
    chanceRow('Chance: random scores', t.chance.random),
    ...t.rows.map((r) => [
      r.label,
      spreadCell(r.summary.auroc),
      spreadCell(r.summary.f1),
      spreadCell(r.summary.sensitivity),
      r.freeze,
      String(r.lrMultiplier),
      String(r.steps),
    ]),
  ];
  const seeds = t.rows[0]?.runs.map((r) => r.seed) ?? [];
  const perSeed = markdownTable(
    ['Model', ...seeds.map((s) => `seed ${s} AUROC / F1 / sens.`)],
    [
      [
        'Test split: films (positive)',
        ...(t.rows[0]?.runs ?? []).map((x) => `${x.split.test} (${x.split.testPositives})`),
      ],
      ...t.rows.map((r) => [
        r.label,
        ...r.runs.map((x) => `${cell(x.auroc)} / ${cell(x.f1)} / ${cell(x.sensitivity)}`),
      ]),
    ],
  );
  const d = t.data;
  const loc = t.localisation;
  return [
    `# ${t.title}`,
    '',
    `Classes: ${t.classes.join(', ')}. COVID set ${d.root}: train ${d.images.train} (${d.positives.train} positive), val ${d.images.val} (${d.positives.val}), test ${d.images.test} (${d.positives.test})${d.resplit ? ' with the first seed; every seed re-draws the patient split (the three rows share it)' : ''}. Values: mean ± std [min, max] over ${seeds.length} seeds on the test split; F1 at the threshold chosen on the validation split.`,
    '',
    markdownTable(header, rows),
    '',
    '## Per seed',
    '',
    perSeed,
    '',
    '## Source models',
    '',
    ...t.rows
      .filter((r) => r.source !== null)
      .map(
        (r) =>
          `- ${r.label}: ${r.source!.provenance}, ${r.source!.steps ?? '?'} steps, ${r.source!.seconds.toFixed(0)} s`,
      ),
    '',
    ...(loc === null
      ? []
      : [
          '## Free localisation',
          '',
          `The MTL-transferred model (seed ${seeds[0]}) ran its untouched det / seg heads on the ${loc.positives} ${t.classes[0]}-positive test films: ${loc.withBoxes} got pneumonia boxes (${cell(loc.meanBoxes, 2)} per film), ${loc.withMask} a pneumothorax mask (${cell(100 * loc.meanMaskFraction, 1)} % of the film on average); its gate, now reading ${t.classes.join(' / ')} at the threshold chosen on validation data, would route ${loc.routed} of them. No box or mask truth exists for this set: this shows the heads run on the new disease, not that they are right.`,
          '',
        ]),
    `**${t.verdict}**`,
    '',
    `Time: data ${t.seconds.generation.toFixed(0)} s, source models ${t.seconds.sources.toFixed(0)} s, fine-tuning and evaluation ${t.seconds.fineTuning.toFixed(0)} s, total ${t.seconds.total.toFixed(0)} s.`,
    '',
  ].join('\n');
}

/**
 * Table 3 of the paper: COVID-19 classification (test AUROC, F1 at the validation-chosen threshold, sensitivity at
 * a fixed specificity) of a classifier trained from scratch on the small set, of the stage-1 classifier (NIH) with a
 * new decoder, and of MultiCheXNet (MTL) with a new decoder, each over `seeds` seeds (mean ± std, min, max), next to
 * chance baselines on the same test labels. Writes `table3.json` and `table3.md` into `config.out`.
 *
 * @example
 * const t3 = await experimentTable3({ out: 'runs/transfer', seeds: 3 });               // trains its own sources
 * const t3b = await experimentTable3({ out: 'runs/transfer', reuse: 'runs/quickstart' }); // reuses the quickstart's
 * console.log(t3.markdown);
 */
export async function experimentTable3(
  config: TransferExperimentConfigInput,
  runtime: TransferExperimentRuntime = {},
): Promise<Table3> {
  return withTransferContext(config, runtime, async (ctx, t0) => {
    const cfg = ctx.config;
    const ft = cfg.fineTune;
    const s0 = performance.now();
    const sources: Partial<Record<Table3Method, SourceModel>> = {
      stage1: await sourceModel(ctx, 'stage1'),
      mtl: await sourceModel(ctx, 'mtl'),
    };
    const sourceSeconds = (performance.now() - s0) / 1000;
    const imageSize = sources.mtl!.imageSize;
    const preprocess = sources.mtl!.preprocess;
    const scratchModel = parsePlan(builtinPlan('single-cls', { size: cfg.size, seed: cfg.seed })).model;
    const f0 = performance.now();
    const runs = new Map<Table3Method, Table3Run[]>(TABLE3_METHODS.map((m) => [m, []]));
    let localisation: Table3['localisation'] = null;
    const chances: Table3['chance'][] = [];
    for (let k = 0; k < cfg.seeds; k++) {
      const seed = cfg.seed + k;
      const split = await ctx.covidFor(seed);
      let testLabels: Float32Array[] = [];
      for (const method of TABLE3_METHODS) {
        const scratch = method === 'scratch';
        const from = scratch ? buildModel(scratchModel, seed) : sources[method]!.model;
        const name = `${method}-seed${seed}`;
        ctx.emit({ type: 'experiment', stage: 'fine-tune', message: `fine-tuning ${name}` });
        let r: FineTuneResult;
        try {
          r = await fineTune({
            from,
            data: split,
            classes: ft.classes,
            freeze: scratch ? 'all-trainable' : ft.freeze,
            lrMultiplier: scratch ? 1 : ft.lrMultiplier,
            steps: scratch ? (cfg.scratchSteps ?? ft.steps) : ft.steps,
            batchSize: ft.batchSize,
            optimizer: { type: 'adam', learningRate: ft.learningRate },
            imbalance: ft.imbalance,
            specificity: ft.specificity,
            seed,
            imageSize,
            preprocess,
            cache: ctx.cache,
            onEvent: (e) => ctx.emit({ ...e, run: name }),
          });
        } finally {
          if (scratch) from.dispose();
        }
        runs.get(method)!.push(runOf(seed, r, split, ft.specificity));
        testLabels = r.testScores!.labels;
        ctx.emit({
          type: 'experiment',
          stage: 'fine-tune',
          message: `${name}: test AUROC ${cell(r.test!.meanAuroc)}, F1 ${cell(r.test!.macroF1)}, sensitivity ${cell(r.test!.meanSensitivity)} (${r.trainSeconds.toFixed(1)} s)`,
          seconds: r.seconds,
        });
        if (method === 'mtl' && k === 0) localisation = await localise(ctx, split, r.model, imageSize, preprocess);
        r.model.dispose();
      }
      chances.push(chanceOf(testLabels, ft.specificity, seed));
    }
    const rows: Table3Row[] = TABLE3_METHODS.map((method) => {
      const rs = runs.get(method)!;
      const scratch = method === 'scratch';
      const s = sources[method];
      return {
        method,
        label: LABELS[method],
        freeze: scratch ? 'all-trainable' : ft.freeze,
        lrMultiplier: scratch ? 1 : ft.lrMultiplier,
        steps: scratch ? (cfg.scratchSteps ?? ft.steps) : ft.steps,
        source: s === undefined ? null : { provenance: s.provenance, steps: s.steps, seconds: s.seconds },
        runs: rs,
        summary: {
          auroc: spreadOf(rs.map((x) => x.auroc)),
          f1: spreadOf(rs.map((x) => x.f1)),
          sensitivity: spreadOf(rs.map((x) => x.sensitivity)),
        },
      };
    });
    const trainLabels = datasetLabels(ctx.covid.train, ft.classes);
    const valLabels = ctx.covid.val ? datasetLabels(ctx.covid.val, ft.classes) : [];
    const testLabels = ctx.covid.test ? datasetLabels(ctx.covid.test, ft.classes) : [];
    const meanOf = (f: (c: Table3['chance']) => number): number => spreadOf(chances.map(f)).mean;
    // each chance baseline's metrics, averaged over the seeds
    const meanChance = (kind: 'constant' | 'random'): Table3['chance']['constant'] => ({
      auroc: meanOf((c) => c[kind].auroc),
      f1: meanOf((c) => c[kind].f1),
      sensitivity: meanOf((c) => c[kind].sensitivity),
    });
    const table: Omit<Table3, 'markdown'> = {
      title: 'Table 3: transfer to COVID-19 (a finding the pre-training never saw)',
      config: cfg,
      classes: [...ft.classes],
      data: {
        root: ctx.covidRoot,
        resplit: cfg.resplit && ctx.covidRoot !== 'given',
        images: { train: ctx.covid.train.size, val: ctx.covid.val?.size ?? 0, test: ctx.covid.test?.size ?? 0 },
        positives: { train: positivesOf(trainLabels), val: positivesOf(valLabels), test: positivesOf(testLabels) },
      },
      specificity: ft.specificity,
      chance: { constant: meanChance('constant'), random: meanChance('random') },
      rows,
      localisation,
      verdict: verdictOf(rows),
      seconds: {
        generation: ctx.generationSeconds,
        sources: sourceSeconds,
        fineTuning: (performance.now() - f0) / 1000,
        total: (performance.now() - t0) / 1000,
      },
    };
    const result: Table3 = { ...table, markdown: markdownOf(table) };
    return publishTable(ctx.emit, cfg.out, 'table3', result, table.seconds.total, 'null');
  });
}
