import { DataError, z, type GateDecision } from '@multichexnet/core/base';
import type { ModelMetadata } from '../model/metadata';
import type { TensorData } from '../model/run-model';
import type { DecodedOutputs, TaskDecoding } from './decode-outputs';
import { decideOod } from './ood';

/*
 * What the pipeline does with an out-of-distribution image (the score and its threshold: ./ood.ts). Not exported
 * from the package beyond the policy schema.
 */

/** `refuse`: no findings for the image; `flag`: findings kept and marked; `off`: not checked. */
export const OodPolicySchema = z.enum(['refuse', 'flag', 'off']);
export type OodPolicy = z.output<typeof OodPolicySchema>;

/** An explicit `refuse` / `flag` needs a model that records OOD statistics. */
export function checkOodPolicy(metadata: ModelMetadata, policy: OodPolicy | undefined, file: string): void {
  if ((policy === 'refuse' || policy === 'flag') && metadata.ood === null) {
    throw new DataError(
      `Model has no OOD statistics, so it cannot ${policy} out-of-distribution images (pass ood 'off', or export it from a run fitted on its training films)`,
      {
        file,
        field: 'multichexnet.ood',
        expected: 'an OOD spec (ood_score output and threshold)',
        found: 'null',
      },
    );
  }
}

/** Whether image `b` of the stage-1 outputs is refused under the pipeline's policy (default: refuse when recorded). */
export function isRefused(
  s1: Record<string, TensorData>,
  metadata: ModelMetadata,
  b: number,
  opts: { ood?: OodPolicy | undefined; oodThreshold?: number | undefined },
): boolean {
  if ((opts.ood ?? 'refuse') !== 'refuse') return false;
  return decideOod(s1, metadata, b, opts.oodThreshold)?.outOfDistribution ?? false;
}

/**
 * A refused image's result: every task as its decoder writes an image it did not run on (no probabilities, no
 * findings, no boxes, no mask), the gate's probability kept but closed, `refused: true`. The caller adds the OOD
 * verdict.
 */
export function refusedOutputs(
  decoding: readonly TaskDecoding[],
  gate: GateDecision,
): DecodedOutputs & { refused: true } {
  const result: DecodedOutputs & { refused: true } = {
    gate: { probability: gate.probability, positive: false },
    tasks: decoding.map((d) => d.decoder.task),
    calibrated: decoding.some((d) => d.temperature !== null),
    refused: true,
  };
  for (const { decoder, settings } of decoding) Object.assign(result, decoder.empty(settings));
  if (result.mask !== undefined) result.maskRle = '-1';
  return result;
}
