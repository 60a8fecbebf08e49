// `@multichexnet/model/testing`: small models and weight snapshots for tests of the packages that train or change a
// MultiCheXNet (model, trainer, transfer). No test framework here: the helpers return facts and the tests assert.
import { CHESTXRAY14_CLASSES, createRng, tf } from '@multichexnet/core';
import { createEncoder } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createDetHead } from '@multichexnet/head-det';
import { createSegHead } from '@multichexnet/head-seg';
import { createGate } from '@multichexnet/gating';
import { createMultiCheXNet, type MultiCheXNet } from './multichexnet';

/**
 * A small full model: densenet-tiny (narrowed), all three heads, a cls-path gate by default.
 * `hidden`: CheXCls's hidden layer width (the head's default when left out).
 *
 * @example
 * const model = smallModel(1, { gate: null });
 */
export function smallModel(
  seed = 1,
  opts: { hidden?: number; gate?: 'cls-path' | 'binary-head' | null } = {},
): MultiCheXNet {
  const encoder = createEncoder({ preset: 'densenet-tiny', initFeatures: 8, growthRate: 4, seed });
  const fc = encoder.featureChannels;
  const cls = createClsHead({
    classes: [...CHESTXRAY14_CLASSES],
    featureChannels: fc,
    ...(opts.hidden !== undefined ? { hidden: opts.hidden } : {}),
    seed: seed + 1,
  });
  const det = createDetHead({ featureChannels: fc, hiddenChannels: 8, hiddenLayers: 1, seed: seed + 2 });
  const seg = createSegHead({ featureChannels: fc, decoderChannels: 4, seed: seed + 3 });
  const kind = opts.gate === undefined ? 'cls-path' : opts.gate;
  const gate =
    kind === 'cls-path'
      ? createGate({ kind: 'cls-path', classes: ['Pneumonia', 'Pneumothorax'], classNames: cls.config.classes })
      : kind === 'binary-head'
        ? createGate({ kind: 'binary-head', head: { featureChannels: fc, seed: seed + 4 } })
        : null;
  return createMultiCheXNet({ encoder, heads: { cls, det, seg }, gate });
}

/** Seeded normal images [B, S, S, 1]. */
export function randomImages(batch: number, size: number, seed: number): tf.Tensor4D {
  const rng = createRng(seed);
  return tf.tensor4d(
    Float32Array.from({ length: batch * size * size }, () => rng.normal()),
    [batch, size, size, 1],
  );
}

/** Every weight of every block as plain arrays, keyed by block and stable weight name. */
export function snapshot(model: MultiCheXNet): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, block] of model.blocks()) {
    block.weights.forEach((w, i) =>
      out.set(
        `${name}#${i}:${(w as unknown as { originalName: string }).originalName}`,
        Float32Array.from(w.read().dataSync()),
      ),
    );
  }
  return out;
}

/** Keys whose values differ (or are missing) between two snapshots. */
export function differing(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || w.length !== v.length || v.some((x, i) => !Object.is(x, w[i]))) out.push(k);
  }
  return out;
}
