import { tf } from '@multichexnet/core';
import { boxesToMask, createSegHead, encodeSegTargets } from '../src/index';
import { CHANNELS, disposeFeatures, randomFeatures } from './helpers';

/**
 * 25 Adam steps of a small CheXSeg on fixed random features with fixed masks (a learnable target: 4 images to
 * memorise, one of them empty). Returns the loss per step and the tensors left behind after the first step.
 */
export function trainTinySeg(): { losses: number[]; leaked: number } {
  const head = createSegHead({ featureChannels: CHANNELS, decoderChannels: 8, seed: 5 });
  const features = randomFeatures(4, 32, 41);
  const masks = [
    boxesToMask([{ x: 4, y: 4, width: 10, height: 14 }], 32, 32),
    boxesToMask([], 32, 32),
    boxesToMask([{ x: 18, y: 10, width: 9, height: 16 }], 32, 32),
    boxesToMask([{ x: 2, y: 20, width: 12, height: 8 }, { x: 20, y: 2, width: 8, height: 8 }], 32, 32),
  ];
  const target = encodeSegTargets(masks);
  const optimizer = tf.train.adam(0.01);
  const vars = head.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  let afterFirst = 0;
  for (let step = 0; step < 25; step++) {
    const cost = optimizer.minimize(() => head.loss(target, head.apply(features, { training: true })), true, vars)!;
    losses.push(cost.dataSync()[0]!);
    cost.dispose();
    if (step === 0) afterFirst = tf.memory().numTensors;
  }
  const leaked = tf.memory().numTensors - afterFirst;
  optimizer.dispose();
  target.dispose();
  disposeFeatures(features);
  head.dispose();
  return { losses, leaked };
}
