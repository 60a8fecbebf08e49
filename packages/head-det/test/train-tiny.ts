import { tf, type Box } from '@multichexnet/core';
import { createDetHead, disposeDetTargets } from '../src/index';
import { CHANNELS, disposeFeatures, randomFeatures } from './helpers';

/**
 * 25 Adam steps of a small CheXDet on fixed random features with fixed boxes (a learnable target: the head only has
 * to memorise 4 images). Returns the loss per step and the tensors left behind beyond the optimizer's slots.
 */
export function trainTinyDet(): { losses: number[]; leaked: number } {
  const head = createDetHead({ featureChannels: CHANNELS, hiddenChannels: 16, hiddenLayers: 1, seed: 5 });
  const features = randomFeatures(4, 64, 31);
  const boxes: Box[][] = [[{ x: 4, y: 4, width: 20, height: 26 }], [], [{ x: 36, y: 30, width: 18, height: 28 }], [{ x: 10, y: 34, width: 26, height: 24 }]];
  const targets = head.encodeTargets(boxes, 64);
  const optimizer = tf.train.adam(0.01);
  const vars = head.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  let afterFirst = 0;
  for (let step = 0; step < 25; step++) {
    const cost = optimizer.minimize(() => head.loss(targets, head.apply(features, { training: true })), true, vars)!;
    losses.push(cost.dataSync()[0]!);
    cost.dispose();
    if (step === 0) afterFirst = tf.memory().numTensors;
  }
  const leaked = tf.memory().numTensors - afterFirst;
  optimizer.dispose();
  disposeDetTargets(targets);
  disposeFeatures(features);
  head.dispose();
  return { losses, leaked };
}
