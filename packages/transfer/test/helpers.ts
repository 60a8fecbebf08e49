import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '@multichexnet/core';
import { synthesize } from '@multichexnet/synth';
import type { MultiCheXNet } from '@multichexnet/model';
import { smallModel as sharedSmallModel } from '@multichexnet/model/testing';
export { differing, randomImages, snapshot } from '@multichexnet/model/testing';

/**
 * A small trained-shape MultiCheXNet: the shared test model with an 8-wide CheXCls hidden layer unless told otherwise.
 */
export function smallModel(
  seed = 1,
  opts: { hidden?: number; gate?: 'cls-path' | 'binary-head' | null } = {},
): MultiCheXNet {
  return sharedSmallModel(seed, { ...opts, hidden: opts.hidden ?? 8 });
}

/** Max |a - b| of two tensors. */
export function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/**
 * A synthetic COVID-19 image data collection (the real metadata.csv layout, JPEG/PNG films, a few lateral and CT
 * rows that the loader must leave out) written by the data package's generator.
 */
export async function syntheticCovid(count: number, seed: number, covidFraction = 0.3, size = 64): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'mcx-covid-'));
  await synthesize({
    out: root,
    counts: { nih: 0, rsna: 0, siim: 0, covid: count },
    size,
    seed,
    covid: { covidFraction },
  });
  return join(root, 'covid');
}
