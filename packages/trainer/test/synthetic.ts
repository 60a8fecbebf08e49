import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '@multichexnet/synth';
import { openTrainingData, type TrainingData } from '../src/index';

/**
 * Writes a small synthetic NIH / RSNA / SIIM set with the data package's generator (the real formats, read back by
 * the real loaders) and opens it split by patient.
 */
export async function syntheticData(
  counts: { nih: number; rsna: number; siim: number },
  size: number,
  seed: number,
): Promise<{ root: string; data: TrainingData }> {
  const root = mkdtempSync(join(tmpdir(), 'mcx-synth-'));
  await synthesize({ out: root, counts: { ...counts, covid: 0 }, size, seed });
  const data = await openTrainingData(
    { nih: join(root, 'nih'), rsna: join(root, 'rsna'), siim: join(root, 'siim') },
    { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed },
  );
  return { root, data };
}
