import { DataError, namedWeightsOf, tf } from '@multichexnet/core';
import { clsTask } from '@multichexnet/head-cls';
import { ENCODER_BLOCK, type MultiCheXNet } from '@multichexnet/model';

/** How much of the transferred classification path learns during fine-tuning. */
export const FREEZE_MODES = ['encoder-frozen', 'feats-frozen', 'all-trainable'] as const;
/**
 * One of {@link FREEZE_MODES}:
 * - `encoder-frozen`: the encoder is frozen; the cls head's feature layers (its hidden layer, if any) and theta_dec learn;
 * - `feats-frozen`: all of theta_feats is frozen (encoder and hidden layer); only theta_dec learns;
 * - `all-trainable`: theta_feats and theta_dec learn (theta_feats at the learning rate times the multiplier).
 * Without a hidden layer `encoder-frozen` and `feats-frozen` train the same variables.
 */
export type FreezeMode = (typeof FREEZE_MODES)[number];

/**
 * The classification path split as in the paper: theta_feats (transferred from the source model) and theta_dec
 * (the new C'-class output layer). Keys are the trainer's variable keys `<block>/<layer>/<weight>`.
 */
export interface ClsPathSplit {
  /** theta_feats: every parameter of the encoder and of the cls head's layers before its output layer. */
  feats: string[];
  /** theta_dec: the parameters of the cls head's output (logits) layer. */
  dec: string[];
  /** Parametrised cls-head layers that belong to theta_feats (e.g. `cls_hidden`). */
  featLayers: string[];
  /** The cls head's output layer (e.g. `cls_logits`). */
  decLayer: string;
}

interface Parametrised {
  /** tfjs keeps a layer's parameters here whatever its freeze state (the public getter is [] while frozen). */
  _trainableWeights: tf.LayerVariable[];
}

/** Parameters (not BatchNorm statistics) of a layers model, by stable name. */
function parameterNames(model: tf.LayersModel, block: string): { key: string; layer: string }[] {
  const params = new Map<tf.LayerVariable, string>();
  for (const layer of model.layers)
    for (const v of (layer as unknown as Parametrised)._trainableWeights) params.set(v, layer.name);
  return namedWeightsOf(model).flatMap(({ name, variable }) =>
    params.has(variable) ? [{ key: `${block}/${name}`, layer: params.get(variable)! }] : [],
  );
}

function layersModelOf(block: unknown): tf.LayersModel {
  return (block as { layersModel: tf.LayersModel }).layersModel;
}

/**
 * Splits the classification path of a model into theta_feats and theta_dec. The output layer of the cls head
 * (the one producing its logits) is theta_dec; the encoder and every other parametrised cls layer are theta_feats.
 *
 * @example
 * const { feats, dec } = splitClsPath(model);   // dec: ['cls/cls_logits/kernel', 'cls/cls_logits/bias']
 */
export function splitClsPath(model: MultiCheXNet): ClsPathSplit {
  const cls = model.headOf(clsTask);
  if (cls === undefined) {
    throw new DataError('The model has no classification head', {
      field: 'heads.cls',
      expected: 'a cls head',
      found: 'none',
    });
  }
  const clsModel = layersModelOf(cls);
  const decLayer = (clsModel.outputs[0] as tf.SymbolicTensor).sourceLayer.name;
  const clsParams = parameterNames(clsModel, clsTask.name);
  const featLayers = [...new Set(clsParams.filter((p) => p.layer !== decLayer).map((p) => p.layer))];
  return {
    feats: [
      ...parameterNames(layersModelOf(model.encoder), 'encoder').map((p) => p.key),
      ...clsParams.filter((p) => p.layer !== decLayer).map((p) => p.key),
    ],
    dec: clsParams.filter((p) => p.layer === decLayer).map((p) => p.key),
    featLayers,
    decLayer,
  };
}

/** The variables a freeze choice leaves trainable, split by where they come from. */
export interface FreezeResult {
  mode: FreezeMode;
  /** Every trainable variable key (what `model.trainableVariables()` now returns). */
  trainable: string[];
  /** Trainable keys transferred from the source model (they get the learning-rate multiplier). */
  transferred: string[];
  /** Trainable keys of new parameters (theta_dec of a new decoder), at the base learning rate. */
  fresh: string[];
  split: ClsPathSplit;
}

/**
 * Freezes a model for fine-tuning its classification path: det, seg and a gate head are frozen, the encoder and the
 * cls head's feature layers follow `mode`, theta_dec always learns. `decoderTransferred` marks theta_dec as
 * transferred too (a kept, not re-initialised, decoder), so it gets the multiplier; `clsFeatsNew` marks the cls
 * feature layers as new (a head added to a model that had none), so they learn like theta_dec whatever the mode.
 * Returns the trainable keys, which `model.trainableVariables()` now returns exactly.
 *
 * @example
 * const f = applyFreeze(model, 'feats-frozen');   // f.trainable = f.split.dec
 */
export function applyFreeze(
  model: MultiCheXNet,
  mode: FreezeMode,
  options: { decoderTransferred?: boolean; clsFeatsNew?: boolean } = {},
): FreezeResult {
  if (!(FREEZE_MODES as readonly string[]).includes(mode)) {
    throw new DataError('Unknown freeze mode', {
      field: 'freeze',
      expected: `one of ${FREEZE_MODES.join(', ')}`,
      found: JSON.stringify(mode),
    });
  }
  const split = splitClsPath(model);
  const flags = Object.fromEntries(
    model
      .blocks()
      .map(([name]) => [name, name === clsTask.name || (name === ENCODER_BLOCK && mode === 'all-trainable')]),
  );
  model.setTrainable(flags);
  // Layer flags after the block flags: a LayersModel's trainable setter rewrites its layers' variables.
  const clsModel = layersModelOf(model.headOf(clsTask));
  const featsNew = options.clsFeatsNew === true;
  for (const name of split.featLayers) clsModel.getLayer(name).trainable = featsNew || mode !== 'feats-frozen';
  clsModel.getLayer(split.decLayer).trainable = true;
  const trainable = model.trainableVariables().map((v) => v.key);
  const clsFeats = split.feats.filter((k) => k.startsWith(`${clsTask.name}/`));
  const transferredSet = new Set([
    ...split.feats.filter((k) => !featsNew || !clsFeats.includes(k)),
    ...(options.decoderTransferred === true ? split.dec : []),
  ]);
  return {
    mode,
    trainable,
    transferred: trainable.filter((k) => transferredSet.has(k)),
    fresh: trainable.filter((k) => !transferredSet.has(k)),
    split,
  };
}

/** Undoes {@link applyFreeze}: every block and every cls layer trainable again (the state a trained model is in). */
export function releaseFreeze(model: MultiCheXNet): void {
  model.setTrainable(Object.fromEntries(model.blocks().map(([name]) => [name, true])));
  const cls = model.headOf(clsTask);
  if (cls !== undefined) for (const layer of layersModelOf(cls).layers) layer.trainable = true;
}
