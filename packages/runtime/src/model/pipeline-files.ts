import { RUN_FILES } from '@multichexnet/core/base';

/** File names inside a run folder (core's run-folder layout): the two graphs of the gated pipeline, and the single graph of one pass. */
export const PIPELINE_FILES = { stage1: RUN_FILES.stage1, stage2: RUN_FILES.stage2, model: RUN_FILES.model } as const;

/** Name of the stage-1 output (and stage-2 input) carrying encoder feature level `level` (`c2`..`c5`), NCHW. */
export const featureOutputName = (level: string): string => `feat_${level}`;
