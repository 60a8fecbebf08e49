import { deriveSeed, parseConfig, runFolder, tf, writeFileAtomic } from '@multichexnet/core';
import { createMemoryCache, type Batch, type Dataset, type SampleCache } from '@multichexnet/data';
import { clsTask, positiveWeightsFromLabels, type ClassWeights } from '@multichexnet/head-cls';
import { chooseThreshold } from '@multichexnet/gating';
import type { MultiCheXNet } from '@multichexnet/model';
import {
  createBatchCursor,
  createRunnerContext,
  createOptimizer,
  learningRateAt,
  openRunFolder,
  resumeRun,
  runnerSeconds,
  runPhase,
  type BatchCursor,
  type Optimizer,
  type PhaseSteps,
  type RunnerContext,
  type RunStart,
  type TrainEventHandler,
} from '@multichexnet/trainer';
import { checkClassesLearnable, datasetLabels, transferLabels } from '../data/transfer-labels';
import { openTransferData, type TransferDataSource, type TransferSplits } from '../data/transfer-data';
import { chooseThresholds, clsReport, type ClsReport } from '../eval/cls-report';
import { scoreClassifier, type ClsScores } from '../eval/score-classifier';
import { oversampleIndices, type OversampleSummary } from '../imbalance/oversample';
import { applyFreeze, releaseFreeze, type FreezeResult } from '../model/cls-path';
import { resolveSource } from '../model/model-source';
import { addHead, swapHead, type ClsGateChoice } from '../model/swap-head';
import { scaleLearningRates } from '../optim/scale-learning-rates';
import { FineTuneConfigSchema, type FineTuneConfig, type FineTuneConfigInput } from './config';
import { createDecoderHead } from './decoder-head';

/** Progress of {@link fineTune}. */
export type FineTuneEvent =
  | {
      type: 'start';
      steps: number;
      trainSamples: number;
      trainable: number;
      transferred: number;
      fresh: number;
      freeze: FineTuneConfig['freeze'];
    }
  | { type: 'step'; step: number; steps: number; loss: number; learningRate: number; imagesPerSecond: number }
  | { type: 'evaluated'; split: 'val' | 'test'; meanAuroc: number; images: number }
  | { type: 'end'; seconds: number };

/** Everything {@link fineTune} takes: the JSON config plus the source model and the data. */
export interface FineTuneOptions extends FineTuneConfigInput {
  /** The trained model (cloned, never changed) or the path of a saved one / of a run folder. */
  from: string | MultiCheXNet;
  /** A COVID-19 collection folder (split by patient with `split`) or train / val / test datasets. */
  data: TransferDataSource;
  onEvent?: (e: FineTuneEvent) => void;
  /** Shared cache of decoded samples (several fine-tuning runs on the same data). */
  cache?: SampleCache;
  /**
   * Continue from the newest checkpoint of `runDir` (same config and source path). Without it, a `runDir` that
   * already holds checkpoints is refused.
   */
  resume?: boolean;
  /** Stops after the current step (status `aborted`, nothing evaluated or saved but the checkpoints: resume goes on). */
  signal?: AbortSignal;
}

/** What {@link fineTune} returns. */
export interface FineTuneResult {
  /** `aborted`: `signal` stopped it; the model is the one of the last step, not evaluated and not saved. */
  status: 'completed' | 'aborted';
  /** The fine-tuned model: the source's blocks (copies) with the new cls head; every block trainable again. */
  model: MultiCheXNet;
  config: FineTuneConfig;
  imageSize: number;
  /** Which variables learned: transferred ones at lr x lrMultiplier, fresh ones at lr. */
  trainable: Pick<FreezeResult, 'trainable' | 'transferred' | 'fresh'>;
  /** Class balancing actually used. */
  imbalance: {
    mode: FineTuneConfig['imbalance'];
    classWeights: ClassWeights | null;
    oversampling: OversampleSummary | null;
    trainPositives: Record<string, number>;
    trainSamples: number;
  };
  /** Training loss per step. */
  history: { step: number; loss: number; learningRate: number }[];
  /** Gate threshold chosen on validation data (null: no cls-path gate, or no validation positives). */
  gateThreshold: number | null;
  /** Per-class F1 thresholds chosen on validation data (0.5 without validation data). */
  f1Thresholds: Record<string, number>;
  validation: ClsReport | null;
  test: ClsReport | null;
  /** Raw test scores, for further analysis. */
  testScores: ClsScores | null;
  seconds: number;
  trainSeconds: number;
}

function labelMatrix(batch: Batch, labelsById: Map<string, Float32Array>, C: number): Float32Array {
  const out = new Float32Array(batch.size * C);
  batch.ids.forEach((id, b) => out.set(labelsById.get(id)!, b * C));
  return out;
}

/** The old gate classes when the new head still has them all (same findings), else every new class. */
function defaultGateClasses(model: MultiCheXNet, classes: readonly string[]): string[] {
  const old = (model.gate?.config as { classes?: string[] } | undefined)?.classes ?? [];
  return old.length > 0 && old.every((c) => classes.includes(c)) ? [...old] : [...classes];
}

/**
 * Transfer to a new disease (the paper's COVID-19 experiment): keeps theta_feats of a trained model (the encoder
 * and the cls head's feature layers), puts a new theta_dec with the new classes in place of the cls decoder
 * (`swapHead`: det, seg and the gate's blocks untouched), trains it with the chosen freezing, learning-rate
 * multiplier and class-imbalance handling, then picks the F1 and gate thresholds on validation data and reports
 * AUROC, F1 and sensitivity at a fixed specificity on the test split.
 *
 * Data: a COVID-19 image data collection folder (real `metadata.csv` layout, frontal X-rays only, labels from the
 * `finding` hierarchy) split by patient, or splits of any dataset. Same seed, same result.
 *
 * @example
 * const r = await fineTune({ from: 'runs/quickstart/multichexnet-joint', data: 'data/covid', classes: ['COVID-19'], freeze: 'encoder-frozen', imbalance: 'weighted-loss', steps: 60, seed: 1 });
 * r.test.perClass['COVID-19'].auroc;                   // e.g. 0.86
 * r.model.predict(images, { gating: 'gate' })[0].boxes; // CheXDet boxes for a COVID-positive film
 */
export async function fineTune(options: FineTuneOptions): Promise<FineTuneResult> {
  const { from, data, onEvent, cache: givenCache, resume, signal, ...json } = options ?? ({} as FineTuneOptions);
  const cfg = parseConfig(FineTuneConfigSchema, json, 'fine-tune config');
  const started = performance.now();
  const emit = onEvent ?? (() => {});
  const splits: TransferSplits = await openTransferData(data, cfg.split, { views: cfg.views });
  const source = await resolveSource(from);
  let model: MultiCheXNet = source.model;
  try {
    const imageSize = cfg.imageSize ?? source.imageSize ?? 128;
    const preprocess = cfg.preprocess ?? source.preprocess ?? {};
    const setup: FineTuneSetup = {
      cfg,
      imageSize,
      preprocess,
      cache: givenCache ?? createMemoryCache(512 * 1024 ** 2),
      clsFeatsNew: false,
      ...balanceClasses(cfg, splits),
    };
    const transferred = transferHead(model, cfg, setup.imbalance.classWeights);
    model = transferred.model;
    setup.clsFeatsNew = transferred.clsFeatsNew;
    const run = { from: typeof from === 'string' ? from : null, resume: resume === true, signal, emit };
    const trained = await trainHead(model, setup, run);
    const evaluated =
      trained.status === 'completed' ? await evaluateHead(model, splits, setup, emit) : notEvaluated(cfg);
    const seconds = (performance.now() - started) / 1000;
    const { status, trainable, history, trainSeconds } = trained;
    const result: FineTuneResult = {
      status,
      model,
      config: cfg,
      imageSize,
      trainable,
      imbalance: setup.imbalance,
      history,
      ...evaluated,
      seconds,
      trainSeconds,
    };
    if (cfg.runDir !== undefined && status === 'completed')
      await writeRun(cfg.runDir, result, { from: run.from, preprocess });
    emit({ type: 'end', seconds });
    return result;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** What the training of the new head reads besides the model. */
interface FineTuneSetup {
  cfg: FineTuneConfig;
  imageSize: number;
  preprocess: object;
  cache: SampleCache;
  /** The training set (oversampled when asked). */
  trainSet: Dataset;
  imbalance: FineTuneResult['imbalance'];
  /** The source had no cls head: its feature layers are new too. */
  clsFeatsNew: boolean;
}

/** Class imbalance, from the training labels only: the BCE weights or the oversampled training set. */
function balanceClasses(cfg: FineTuneConfig, splits: TransferSplits): Pick<FineTuneSetup, 'trainSet' | 'imbalance'> {
  const trainLabels = datasetLabels(splits.train, cfg.classes);
  // A kept decoder already has its classes; a new one must see each class both ways to learn it.
  if (cfg.decoder === 'new') checkClassesLearnable(trainLabels, cfg.classes, splits.train.root);
  const trainPositives = Object.fromEntries(
    cfg.classes.map((c, j) => [c, trainLabels.filter((r) => r[j] === 1).length]),
  );
  const classWeights = cfg.imbalance === 'weighted-loss' ? positiveWeightsFromLabels(trainLabels) : null;
  let trainSet = splits.train;
  let oversampling: OversampleSummary | null = null;
  if (cfg.imbalance === 'oversample') {
    const o = oversampleIndices(trainLabels, { seed: deriveSeed(cfg.seed, 'oversample'), ratio: cfg.oversampleRatio });
    trainSet = splits.train.subset(o.indices);
    oversampling = o.summary;
  }
  return {
    trainSet,
    imbalance: { mode: cfg.imbalance, classWeights, oversampling, trainPositives, trainSamples: splits.train.size },
  };
}

/** theta_dec: the new decoder in the cls slot (or a new cls head); every other block stays as it was. */
function transferHead(
  model: MultiCheXNet,
  cfg: FineTuneConfig,
  classWeights: ClassWeights | null,
): { model: MultiCheXNet; clsFeatsNew: boolean } {
  const oldCls = model.headOf(clsTask);
  const head = createDecoderHead(oldCls, model.encoder.featureChannels, cfg, classWeights);
  const gateChoice: ClsGateChoice | undefined =
    model.gate?.kind === 'cls-path'
      ? cfg.gate === null
        ? null
        : { classes: cfg.gate.classes ?? defaultGateClasses(model, cfg.classes) }
      : undefined;
  let out: MultiCheXNet;
  try {
    out =
      oldCls !== undefined
        ? swapHead(model, clsTask.name, head, { gate: gateChoice })
        : addHead(model, clsTask.name, head);
  } catch (e) {
    head.dispose();
    throw e;
  }
  oldCls?.dispose();
  return { model: out, clsFeatsNew: oldCls === undefined };
}

/** The name of a fine-tuning run's one phase (metrics.jsonl, checkpoints). */
export const FINE_TUNE_PHASE = 'fine-tune';

/** How a fine-tuning run trains: where it comes from (part of its identity), resume, abort, progress. */
interface HeadRun {
  from: string | null;
  resume: boolean;
  signal: AbortSignal | undefined;
  emit: (e: FineTuneEvent) => void;
}

/** The fine-tuning run as the trainer's phase runner sees it: one phase, its checkpoints in `runDir` when given. */
async function openHeadRun(
  model: MultiCheXNet,
  cfg: FineTuneConfig,
  run: HeadRun,
): Promise<{ ctx: RunnerContext; start: RunStart }> {
  // What the weights depend on: where checkpoints go and how many are kept do not.
  const { runDir: _dir, checkpointEvery: _every, keepCheckpoints: _keep, ...identity } = cfg;
  const text = `${JSON.stringify({ from: run.from, config: identity }, null, 2)}\n`;
  const opened =
    cfg.runDir !== undefined
      ? await openRunFolder(cfg.runDir, { name: FINE_TUNE_PHASE, text }, { resume: run.resume })
      : null;
  const start = await resumeRun(model, opened?.checkpoint ?? null, FINE_TUNE_PHASE);
  const emit: TrainEventHandler = (e) => {
    if (e.type === 'step')
      run.emit({
        type: 'step',
        step: e.step,
        steps: e.steps,
        loss: e.total,
        learningRate: e.learningRate,
        imagesPerSecond: e.imagesPerSecond,
      });
  };
  const ctx = createRunnerContext(opened, start, {
    model,
    totalSteps: cfg.steps,
    emit,
    ...(run.signal !== undefined ? { signal: run.signal } : {}),
    keepCheckpoints: cfg.keepCheckpoints,
  });
  return { ctx, start };
}

/**
 * Trains the new head as a trainer phase: the chosen freezing, the learning rate times `lrMultiplier` for the
 * transferred variables, seeded batches, checkpoints every `checkpointEvery` steps in `runDir`; a resumed run goes
 * on from its newest checkpoint and ends with the weights of an uninterrupted one.
 */
async function trainHead(
  model: MultiCheXNet,
  s: FineTuneSetup,
  run: HeadRun,
): Promise<Pick<FineTuneResult, 'status' | 'trainable' | 'history' | 'trainSeconds'>> {
  const { cfg } = s;
  const freeze = applyFreeze(model, cfg.freeze, {
    decoderTransferred: cfg.decoder === 'keep',
    clsFeatsNew: s.clsFeatsNew,
  });
  const transferred = new Set(freeze.transferred);
  const optimizer = scaleLearningRates(createOptimizer(cfg.optimizer), (key) =>
    transferred.has(key) ? cfg.lrMultiplier : 1,
  );
  let status: FineTuneResult['status'] = 'completed';
  let ctx: RunnerContext | null = null;
  try {
    const opened = await openHeadRun(model, cfg, run);
    ctx = opened.ctx;
    const { position, optimizer: moments } = opened.start;
    run.emit({
      type: 'start',
      steps: cfg.steps,
      trainSamples: s.trainSet.size,
      trainable: freeze.trainable.length,
      transferred: freeze.transferred.length,
      fresh: freeze.fresh.length,
      freeze: cfg.freeze,
    });
    if (position.phaseIndex === 0) {
      if (position.step > 0 && moments !== null) optimizer.setState(moments);
      const phase = {
        name: FINE_TUNE_PHASE,
        index: 0,
        steps: cfg.steps,
        evalEvery: 0,
        checkpointEvery: cfg.checkpointEvery,
        restoreBest: false,
        stepsBefore: 0,
        stepsAfter: 0,
      };
      const cursor = createBatchCursor({
        datasets: [s.trainSet],
        batchSize: cfg.batchSize,
        seed: cfg.seed,
        preprocess: { ...s.preprocess, size: s.imageSize },
        augment: cfg.augment,
        cache: s.cache,
        start: position.step,
      });
      try {
        status = await runPhase(ctx, phase, headSteps(model, s, optimizer, cursor), position.step);
      } finally {
        await cursor.close();
      }
    }
  } finally {
    optimizer.dispose();
    releaseFreeze(model);
  }
  const history = (await ctx.metrics.records())
    .filter((r) => r.type === 'step')
    .map((r) => ({ step: r.step as number, loss: r.loss as number, learningRate: r.learningRate as number }));
  return {
    status,
    trainable: { trainable: freeze.trainable, transferred: freeze.transferred, fresh: freeze.fresh },
    history,
    trainSeconds: runnerSeconds(ctx).training,
  };
}

/** One step: the cls loss of a batch (the encoder in inference mode when frozen), the update when the loss is finite. */
function headSteps(model: MultiCheXNet, s: FineTuneSetup, optimizer: Optimizer, cursor: BatchCursor): PhaseSteps {
  const { cfg } = s;
  const cls = model.headOf(clsTask)!;
  const C = cfg.classes.length;
  const labelsById = new Map(s.trainSet.entries.map((e) => [e.id, transferLabels(e, cfg.classes)]));
  const variables = model.trainableVariables();
  const encoderLearns = model.encoder.trainable;
  return {
    step: async (k) => {
      const batch = await cursor.next();
      const B = batch.size;
      const S = batch.imageSize;
      const learningRate = learningRateAt(cfg.schedule, cfg.optimizer.learningRate, k, cfg.steps);
      const images = tf.tensor4d(batch.images, [B, S, S, 1]);
      const labels = tf.tensor2d(labelMatrix(batch, labelsById, C), [B, C]);
      try {
        const { value, grads } = tf.variableGrads(
          () => {
            // A frozen encoder runs in inference mode: its BatchNorm statistics stay those of the source model.
            const features = model.encoder.apply(images, { training: encoderLearns });
            return cls.loss(labels, cls.apply(features, { training: true }));
          },
          variables.map((v) => v.variable),
        );
        const loss = value.dataSync()[0]!;
        value.dispose();
        // A non-finite loss is not applied: the runner stops the run, naming the step.
        if (Number.isFinite(loss)) {
          const byKey = new Map<string, tf.Tensor>();
          for (const v of variables) {
            const g = grads[v.variable.name];
            if (g !== undefined && g !== null) byKey.set(v.key, g);
          }
          optimizer.apply(variables, byKey, learningRate);
        }
        tf.dispose(Object.values(grads));
        return {
          losses: { [clsTask.name]: loss },
          total: loss,
          learningRate,
          images: B,
          weights: {},
          routing: null,
          record: { loss, learningRate },
        };
      } finally {
        images.dispose();
        labels.dispose();
      }
    },
    state: () => ({ optimizer: optimizer.getState(), weighting: null }),
  };
}

/** Results of a run stopped before its end: nothing evaluated, thresholds at 0.5. */
function notEvaluated(
  cfg: FineTuneConfig,
): Pick<FineTuneResult, 'validation' | 'f1Thresholds' | 'gateThreshold' | 'test' | 'testScores'> {
  return {
    validation: null,
    f1Thresholds: Object.fromEntries(cfg.classes.map((c) => [c, 0.5])),
    gateThreshold: null,
    test: null,
    testScores: null,
  };
}

/** Thresholds from validation data (per-class F1, the gate's at its sensitivity), then the test report. */
async function evaluateHead(
  model: MultiCheXNet,
  splits: TransferSplits,
  s: FineTuneSetup,
  emit: (e: FineTuneEvent) => void,
): Promise<ReturnType<typeof notEvaluated>> {
  const { cfg } = s;
  const scoreOpts = { imageSize: s.imageSize, preprocess: s.preprocess, cache: s.cache };
  const out = notEvaluated(cfg);
  if (splits.val !== undefined && splits.val.size > 0) {
    const val = await scoreClassifier(model, splits.val, scoreOpts);
    out.f1Thresholds = chooseThresholds(val);
    out.validation = clsReport(val, { specificity: cfg.specificity, f1Thresholds: out.f1Thresholds });
    emit({ type: 'evaluated', split: 'val', meanAuroc: out.validation.meanAuroc, images: out.validation.images });
    out.gateThreshold = chooseGate(model, cfg, val);
  }
  if (splits.test !== undefined && splits.test.size > 0) {
    out.testScores = await scoreClassifier(model, splits.test, scoreOpts);
    out.test = clsReport(out.testScores, { specificity: cfg.specificity, f1Thresholds: out.f1Thresholds });
    emit({ type: 'evaluated', split: 'test', meanAuroc: out.test.meanAuroc, images: out.test.images });
  }
  return out;
}

/** The cls-path gate's threshold for its sensitivity on validation scores (set on the gate); null without positives. */
function chooseGate(model: MultiCheXNet, cfg: FineTuneConfig, val: ClsScores): number | null {
  const gate = model.gate;
  if (gate?.kind !== 'cls-path' || cfg.gate === null) return null;
  const gateClasses = (gate.config as { classes: string[] }).classes;
  const cols = gateClasses.map((c) => val.classes.indexOf(c));
  const labels = val.labels.map((row) => {
    const ys = cols.map((c) => row[c]!);
    return ys.some((y) => y === 1) ? 1 : ys.every((y) => y === 0) ? 0 : Number.NaN;
  });
  const keep = labels.flatMap((y, i) => (Number.isNaN(y) ? [] : [i]));
  if (!keep.some((i) => labels[i] === 1)) return null;
  const threshold = chooseThreshold(
    gate.score(keep.map((i) => val.scores[i]!)),
    keep.map((i) => labels[i]!),
    { targetSensitivity: cfg.gate.sensitivity },
  ).threshold;
  gate.setThreshold(threshold);
  return threshold;
}

/** Completes a fine-tuning run folder: weights/ (loadable with loadMultiCheXNet) and transfer.json (metrics.jsonl and checkpoints/ are the runner's). */
async function writeRun(
  dir: string,
  r: FineTuneResult,
  extra: { from: string | null; preprocess: object },
): Promise<void> {
  const folder = runFolder(dir);
  await r.model.save(folder.weights);
  const { model: _m, testScores: _s, history: _h, status: _status, ...summary } = r;
  const record = { format: 'multichexnet-transfer', from: extra.from, preprocess: extra.preprocess, ...summary };
  await writeFileAtomic(folder.transfer, `${JSON.stringify(record, null, 2)}\n`);
}
