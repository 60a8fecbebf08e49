/** File names inside a run folder: the two graphs of the gated pipeline, and the single graph of one pass. */
export const PIPELINE_FILES = { stage1: 'model.stage1.onnx', stage2: 'model.stage2.onnx', model: 'model.onnx' } as const;

/** Name of the stage-1 output (and stage-2 input) carrying encoder feature level `level` (`c2`..`c5`), NCHW. */
export const featureOutputName = (level: string): string => `feat_${level}`;
