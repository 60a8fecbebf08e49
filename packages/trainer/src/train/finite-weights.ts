import { tf } from '@multichexnet/core';
import type { MultiCheXNet } from '@multichexnet/model';

/**
 * The first weight of the model holding NaN or ±Infinity, BatchNorm moving statistics included, or null.
 *
 * Why the loss check alone is not enough: a diverging run (learning rate far too high) can keep a finite training
 * loss (BatchNorm normalises with the batch's own statistics) while its moving variance has already overflowed;
 * such weights would be checkpointed as "good" and only fail later, in evaluation, with an unrelated message.
 * `0 * w` is 0 for every finite value and NaN otherwise, so one sum per block decides without overflowing.
 *
 * @example
 * const bad = firstNonFiniteWeight(model);   // null, or { block: 'encoder', weight: 'encoder_stem_bn/moving_variance', value: NaN }
 */
export function firstNonFiniteWeight(model: MultiCheXNet): { block: string; weight: string; value: number } | null {
  for (const [name, block] of model.blocks()) {
    const weights = block.weights;
    if (weights.length === 0) continue;
    const probe = tf.tidy(() => tf.addN(weights.map((w) => tf.sum(tf.mul(w.read(), 0)))).dataSync()[0]!);
    if (Number.isFinite(probe)) continue;
    // Rare path (the run stops): find which weight, for the message.
    for (const w of weights) {
      const values = w.read().dataSync();
      const value = values.find((v) => !Number.isFinite(v));
      // originalName: the name the layer gave it, without the suffix tfjs adds when a process builds a second model.
      if (value !== undefined) return { block: name, weight: w.originalName, value };
    }
  }
  return null;
}
