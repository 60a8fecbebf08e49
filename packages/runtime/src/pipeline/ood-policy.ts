import { DataError, z } from '@multichexnet/core';
import type { ModelMetadata } from '../model/metadata';
import type { TensorData } from '../model/run-model';
import type { PipelineResult } from './create-pipeline';
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
    throw new DataError(`Model has no OOD statistics, so it cannot ${policy} out-of-distribution images (pass ood 'off', or export it from a run fitted on its training films)`, {
      file,
      field: 'multichexnet.ood',
      expected: 'an OOD spec (ood_score output and threshold)',
      found: 'null',
    });
  }
}

/** Whether image `b` of the stage-1 outputs is refused under the pipeline's policy (default: refuse when recorded). */
export function oodPolicyOf(s1: Record<string, TensorData>, metadata: ModelMetadata, b: number, opts: { ood?: OodPolicy | undefined; oodThreshold?: number | undefined }): boolean {
  if ((opts.ood ?? 'refuse') !== 'refuse') return false;
  return decideOod(s1, metadata, b, opts.oodThreshold)?.outOfDistribution ?? false;
}

/** The result as the policy shows it: a refused image keeps its OOD verdict and gate probability, nothing else. */
export function refuseResult(result: PipelineResult, refused: boolean, policy: OodPolicy | undefined, hasSeg: boolean): PipelineResult {
  if (policy === 'off') {
    const { ood: _ood, ...rest } = result;
    return rest;
  }
  if (!refused) return result;
  return {
    ...result,
    probabilities: {},
    ...(result.findings !== undefined ? { findings: [] } : {}),
    gate: { probability: result.gate.probability, positive: false },
    boxes: [],
    mask: null,
    maskRle: hasSeg ? '-1' : '',
    refused: true,
  };
}
