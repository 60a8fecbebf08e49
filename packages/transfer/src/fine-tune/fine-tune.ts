import { DataError, deriveSeed, parseConfig, tf, writeFileAtomic } from '@multichexnet/core';
import { createBatchStream, createMemoryCache, type Batch, type Dataset, type SampleCache } from '@multichexnet/data';
import { clsTask, positiveWeightsFromLabels, type ClassWeights } from '@multichexnet/head-cls';
import { chooseThreshold } from '@multichexnet/gating';
import type { MultiCheXNet } from '@multichexnet/model';
import { createOptimizer, learningRateAt } from '@multichexnet/trainer';
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
  | { type: 'start'; steps: number; trainSamples: number; trainable: number; transferred: number; fresh: number; freeze: FineTuneConfig['freeze'] }
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
}

/** What {@link fineTune} returns. */
export interface FineTuneResult {
  /** The fine-tuned model: the source's blocks (copies) with the new cls head; every block trainable again. */
  model: MultiCheXNet;
  config: FineTuneConfig;
  imageSize: number;
  /** Which variables learned: transferred ones at lr x lrMultiplier, fresh ones at lr. */
  trainable: Pick<FreezeResult, 'trainable' | 'transferred' | 'fresh'>;
  /** Class balancing actually used. */
  imbalance: { mode: FineTuneConfig['imbalance']; classWeights: ClassWeights | null; oversampling: OversampleSummary | null; trainPositives: Record<string, number>; trainSamples: number };
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

/** Batches forever: epoch after epoch of a seeded, shuffled stream (full batches only). */
async function* trainBatches(dataset: Dataset, cfg: FineTuneConfig, imageSize: number, preprocess: object, cache: SampleCache): AsyncGenerator<Batch> {
  const stream = createBatchStream({
    datasets: dataset,
    batchSize: cfg.batchSize,
    seed: deriveSeed(cfg.seed, 'batches'),
    shuffle: true,
    augment: cfg.augment,
    dropLast: true,
    preprocess: { ...preprocess, size: imageSize },
    prefetch: 2,
    cache,
  });
  if (stream.batchesPerEpoch === 0) {
    throw new DataError('The training set is smaller than one batch', { file: dataset.root, field: 'batchSize', expected: `at most ${stream.numSamples} (the training samples)`, found: String(cfg.batchSize) });
  }
  for (let epoch = 0; ; epoch++) {
    let n = 0;
    for await (const b of stream.epoch(epoch)) {
      n++;
      yield b;
    }
    if (n === 0) throw new DataError('A training epoch produced no batch (every sample was skipped)', { file: dataset.root, expected: 'readable images', found: `epoch ${epoch} empty` });
  }
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
  const { from, data, onEvent, cache: givenCache, ...json } = options ?? ({} as FineTuneOptions);
  const cfg = parseConfig(FineTuneConfigSchema, json, 'fine-tune config');
  const started = performance.now();
  const emit = onEvent ?? (() => {});
  const splits: TransferSplits = await openTransferData(data, cfg.split, { views: cfg.views });
  const source = await resolveSource(from);
  let model: MultiCheXNet = source.model;
  try {
    const imageSize = cfg.imageSize ?? source.imageSize ?? 128;
    const preprocess = cfg.preprocess ?? source.preprocess ?? {};
    const cache = givenCache ?? createMemoryCache(512 * 1024 ** 2);
    const C = cfg.classes.length;

    // Class imbalance, from the training labels only.
    const trainLabels = datasetLabels(splits.train, cfg.classes);
    // A kept decoder already has its classes; a new one must see each class both ways to learn it.
    if (cfg.decoder === 'new') checkClassesLearnable(trainLabels, cfg.classes, splits.train.root);
    const trainPositives = Object.fromEntries(cfg.classes.map((c, j) => [c, trainLabels.filter((r) => r[j] === 1).length]));
    const classWeights = cfg.imbalance === 'weighted-loss' ? positiveWeightsFromLabels(trainLabels) : null;
    let trainSet = splits.train;
    let oversampling: OversampleSummary | null = null;
    if (cfg.imbalance === 'oversample') {
      const o = oversampleIndices(trainLabels, { seed: deriveSeed(cfg.seed, 'oversample'), ratio: cfg.oversampleRatio });
      trainSet = splits.train.subset(o.indices);
      oversampling = o.summary;
    }

    // theta_dec: the new decoder in the cls slot; every other block stays as it was.
    const oldCls = model.headOf(clsTask);
    const head = createDecoderHead(oldCls, model.encoder.featureChannels, cfg, classWeights);
    const gateChoice: ClsGateChoice | undefined = model.gate?.kind === 'cls-path' ? (cfg.gate === null ? null : { classes: cfg.gate.classes ?? defaultGateClasses(model, cfg.classes) }) : undefined;
    try {
      model = oldCls !== undefined ? swapHead(model, clsTask.name, head, { gate: gateChoice }) : addHead(model, clsTask.name, head);
    } catch (e) {
      head.dispose();
      throw e;
    }
    oldCls?.dispose();
    const cls = model.headOf(clsTask)!;

    const freeze = applyFreeze(model, cfg.freeze, { decoderTransferred: cfg.decoder === 'keep', clsFeatsNew: oldCls === undefined });
    const transferred = new Set(freeze.transferred);
    const variables = model.trainableVariables();
    const optimizer = scaleLearningRates(createOptimizer(cfg.optimizer), (key) => (transferred.has(key) ? cfg.lrMultiplier : 1));
    const labelsById = new Map(trainSet.entries.map((e) => [e.id, transferLabels(e, cfg.classes)]));
    emit({ type: 'start', steps: cfg.steps, trainSamples: trainSet.size, trainable: freeze.trainable.length, transferred: freeze.transferred.length, fresh: freeze.fresh.length, freeze: cfg.freeze });

    const history: FineTuneResult['history'] = [];
    const trainStarted = performance.now();
    const batches = trainBatches(trainSet, cfg, imageSize, preprocess, cache);
    const encoderLearns = model.encoder.trainable;
    try {
      for (let step = 0; step < cfg.steps; step++) {
        const t0 = performance.now();
        const batch = (await batches.next()).value as Batch;
        const B = batch.size;
        const S = batch.imageSize;
        const learningRate = learningRateAt(cfg.schedule, cfg.optimizer.learningRate, step, cfg.steps);
        const images = tf.tensor4d(batch.images, [B, S, S, 1]);
        const labels = tf.tensor2d(labelMatrix(batch, labelsById, C), [B, C]);
        try {
          const { value, grads } = tf.variableGrads(() => {
            // A frozen encoder runs in inference mode: its BatchNorm statistics stay those of the source model.
            const features = model.encoder.apply(images, { training: encoderLearns });
            return cls.loss(labels, cls.apply(features, { training: true }));
          }, variables.map((v) => v.variable));
          const loss = value.dataSync()[0]!;
          value.dispose();
          if (!Number.isFinite(loss)) {
            tf.dispose(Object.values(grads));
            throw new DataError(`Fine-tuning stopped at step ${step + 1}: the loss is ${loss}; no update was applied`, { field: 'loss', expected: 'a finite loss (lower the learning rate)', found: String(loss) });
          }
          const byKey = new Map<string, tf.Tensor>();
          for (const v of variables) {
            const g = grads[v.variable.name];
            if (g !== undefined && g !== null) byKey.set(v.key, g);
          }
          optimizer.apply(variables, byKey, learningRate);
          tf.dispose(Object.values(grads));
          history.push({ step: step + 1, loss, learningRate });
          emit({ type: 'step', step: step + 1, steps: cfg.steps, loss, learningRate, imagesPerSecond: (B * 1000) / (performance.now() - t0) });
        } finally {
          images.dispose();
          labels.dispose();
        }
      }
    } finally {
      await batches.return(undefined);
      optimizer.dispose();
      releaseFreeze(model);
    }
    const trainSeconds = (performance.now() - trainStarted) / 1000;

    // Thresholds from validation data, then the test report.
    const scoreOpts = { imageSize, preprocess, cache };
    let validation: ClsReport | null = null;
    let f1Thresholds: Record<string, number> = Object.fromEntries(cfg.classes.map((c) => [c, 0.5]));
    let gateThreshold: number | null = null;
    if (splits.val !== undefined && splits.val.size > 0) {
      const val = await scoreClassifier(model, splits.val, scoreOpts);
      f1Thresholds = chooseThresholds(val);
      validation = clsReport(val, { specificity: cfg.specificity, f1Thresholds });
      emit({ type: 'evaluated', split: 'val', meanAuroc: validation.meanAuroc, images: validation.images });
      const gate = model.gate;
      if (gate?.kind === 'cls-path' && cfg.gate !== null) {
        const gateClasses = (gate.config as { classes: string[] }).classes;
        const cols = gateClasses.map((c) => val.classes.indexOf(c));
        const labels = val.labels.map((row) => {
          const ys = cols.map((c) => row[c]!);
          return ys.some((y) => y === 1) ? 1 : ys.every((y) => y === 0) ? 0 : Number.NaN;
        });
        const keep = labels.flatMap((y, i) => (Number.isNaN(y) ? [] : [i]));
        if (keep.some((i) => labels[i] === 1)) {
          const scores = gate.score(keep.map((i) => val.scores[i]!));
          gateThreshold = chooseThreshold(scores, keep.map((i) => labels[i]!), { targetSensitivity: cfg.gate.sensitivity }).threshold;
          gate.setThreshold(gateThreshold);
        }
      }
    }
    let test: ClsReport | null = null;
    let testScores: ClsScores | null = null;
    if (splits.test !== undefined && splits.test.size > 0) {
      testScores = await scoreClassifier(model, splits.test, scoreOpts);
      test = clsReport(testScores, { specificity: cfg.specificity, f1Thresholds });
      emit({ type: 'evaluated', split: 'test', meanAuroc: test.meanAuroc, images: test.images });
    }
    const seconds = (performance.now() - started) / 1000;
    const result: FineTuneResult = {
      model,
      config: cfg,
      imageSize,
      trainable: { trainable: freeze.trainable, transferred: freeze.transferred, fresh: freeze.fresh },
      imbalance: { mode: cfg.imbalance, classWeights, oversampling, trainPositives, trainSamples: splits.train.size },
      history,
      gateThreshold,
      f1Thresholds,
      validation,
      test,
      testScores,
      seconds,
      trainSeconds,
    };
    if (cfg.runDir !== undefined) await writeRun(cfg.runDir, result, { from: typeof from === 'string' ? from : null, preprocess });
    emit({ type: 'end', seconds });
    return result;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Writes a fine-tuning run folder: weights/ (loadable with loadMultiCheXNet), transfer.json, metrics.jsonl. */
async function writeRun(dir: string, r: FineTuneResult, extra: { from: string | null; preprocess: object }): Promise<void> {
  const { join } = await import('node:path');
  await r.model.save(join(dir, 'weights'));
  const { model: _m, testScores: _s, history, ...summary } = r;
  const record = { format: 'multichexnet-transfer', from: extra.from, preprocess: extra.preprocess, ...summary };
  await writeFileAtomic(join(dir, 'transfer.json'), `${JSON.stringify(record, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'metrics.jsonl'), history.map((h) => JSON.stringify({ type: 'step', phase: 'fine-tune', ...h })).join('\n') + '\n');
}
