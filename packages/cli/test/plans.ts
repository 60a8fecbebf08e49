// Plan builders of the CLI tests: tiny plans (64 px, the smallest encoder) and the phases they train.

/** A tiny plan (64 px, the smallest encoder) with the given phases. */
export function tinyPlan(
  name: string,
  seed: number,
  phases: unknown[],
  model: Record<string, unknown> = { cls: {} },
): Record<string, unknown> {
  return {
    name,
    seed,
    imageSize: 64,
    logEvery: 1,
    keepCheckpoints: 3,
    model: { encoder: { preset: 'densenet-tiny', initFeatures: 8, growthRate: 4 }, ...model },
    phases,
  };
}

/** One cls phase on NIH. */
export function clsPhase(name: string, steps: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    trainable: ['encoder', 'cls'],
    batches: [{ datasets: ['nih'], tasks: ['cls'] }],
    steps,
    batchSize: 4,
    ...extra,
  };
}

/** The three heads, small, and the classifier-path gate: a tiny plan's `model` for the whole pipeline. */
export const THREE_HEADS = {
  cls: {},
  det: { hiddenChannels: 8, hiddenLayers: 1 },
  seg: { decoderChannels: 8 },
  gate: { kind: 'cls-path' },
} as const;

/** A phase of 8-image batches, teacher-forced routing (p 0.9) unless `routing` is false. */
function stagePhase(
  name: string,
  stage: 'pretrain' | 'mtl',
  trainable: readonly string[],
  batch: Record<string, unknown>,
  steps: number,
  routing = true,
): Record<string, unknown> {
  return {
    name,
    stage,
    trainable,
    batches: [batch],
    steps,
    batchSize: 8,
    ...(routing ? { routing: { type: 'teacher-forcing', p: 0.9 } } : {}),
  };
}

/**
 * Algorithm 1's pre-training of `task` on `source` (phase `pre-<task>`): the head alone, teacher-forced; with
 * `first`, the first stage: the encoder with it, no routing.
 */
export function pretrainPhase(task: string, source: string, steps: number, first = false): Record<string, unknown> {
  const batch = { datasets: [source], tasks: [task] };
  return stagePhase(`pre-${task}`, 'pretrain', first ? ['encoder', task] : [task], batch, steps, !first);
}

/** Joint MTL of the three heads and the encoder on the three sources, boxes from the SIIM masks too (phase `mtl`). */
export function mtlPhase(steps: number): Record<string, unknown> {
  const batch = { datasets: ['nih', 'rsna', 'siim'], tasks: ['cls', 'det', 'seg'], detFromMasks: true };
  return stagePhase('mtl', 'mtl', ['encoder', 'cls', 'det', 'seg'], batch, steps);
}
