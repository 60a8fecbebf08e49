/**
 * The layout of a run folder (`runs/<name>`), defined once: the trainer and the transfer package write it, the CLI,
 * the report, the service and the runtime read it. tfjs-free and Node-free (also in `@multichexnet/core/base`), so a
 * browser bundle or the onnxruntime-only runtime can name the files without pulling either in.
 *
 *   plan.json          the resolved training plan (trainer)            data.json         datasets + split (CLI)
 *   metrics.jsonl      step / eval / gate-threshold records            eval.json         validation (trainer)
 *   eval-test.json     test evaluation (CLI)                           calibration.json  decision settings (CLI)
 *   transfer.json      a fine-tuning run's summary (transfer)          report.html       the report (CLI)
 *   ood.json           out-of-distribution statistics (CLI)            temperature.json  calibration temperatures (CLI)
 *   weights/model.json + one weights file per block (MultiCheXNet.save)
 *   checkpoints/latest.json -> checkpoints/p00-s0000050/{manifest.json, state.json, optimizer.safetensors, blocks}
 *   model.onnx, model.stage1.onnx, model.stage2.onnx (export)         gallery/gallery.json + images (CLI)
 */
export const RUN_FILES = {
  plan: 'plan.json',
  data: 'data.json',
  metrics: 'metrics.jsonl',
  validation: 'eval.json',
  test: 'eval-test.json',
  calibration: 'calibration.json',
  ood: 'ood.json',
  temperature: 'temperature.json',
  transfer: 'transfer.json',
  report: 'report.html',
  gallery: 'gallery',
  weights: 'weights',
  checkpoints: 'checkpoints',
  model: 'model.onnx',
  stage1: 'model.stage1.onnx',
  stage2: 'model.stage2.onnx',
} as const;

/** The file of a saved model folder (`weights/`) that describes its blocks. */
export const MODEL_SPEC_FILE = 'model.json';

/** Files of the `checkpoints/` folder and of each checkpoint in it. */
export const CHECKPOINT_FILES = {
  /** `checkpoints/latest.json`: names the newest complete checkpoint and its manifest's SHA-256. */
  pointer: 'latest.json',
  manifest: 'manifest.json',
  state: 'state.json',
  optimizer: 'optimizer.safetensors',
  /** The optimizer file of checkpoints written before safetensors. */
  legacyOptimizer: 'optimizer.bin',
} as const;

/** The index of a run's `gallery/` folder. */
export const GALLERY_INDEX_FILE = 'gallery.json';

/** Every path of a run folder, from {@link runFolder}. */
export interface RunFolder {
  readonly dir: string;
  readonly plan: string;
  readonly data: string;
  readonly metrics: string;
  readonly validation: string;
  readonly test: string;
  readonly calibration: string;
  /** Out-of-distribution statistics and threshold fitted on the training / validation films. */
  readonly ood: string;
  /** Temperatures fitted on validation, with the reliability before / after. */
  readonly temperature: string;
  readonly transfer: string;
  readonly report: string;
  readonly gallery: string;
  readonly galleryIndex: string;
  /** The trained model's folder (`MultiCheXNet.save`), and its `model.json`. */
  readonly weights: string;
  readonly modelSpec: string;
  readonly checkpoints: string;
  readonly checkpointPointer: string;
  readonly model: string;
  readonly stage1: string;
  readonly stage2: string;
  /** `eval-<split>.json`: the evaluation of one split (`test` is {@link RunFolder.test}). */
  evaluation(split: string): string;
  /** The folder of the checkpoint `name` (`p00-s0000050`, `best-<phase>`). */
  checkpoint(name: string): string;
}

/** `dir` and `names` joined with `/` (Node's path functions accept it on every platform; no `node:path` here). */
export function joinRunPath(dir: string, ...names: string[]): string {
  const base = dir.length > 1 ? dir.replace(/[\\/]+$/, '') : dir;
  return [base, ...names]
    .filter((s) => s !== '')
    .join(base === '/' ? '' : '/')
    .replace(/^\/\//, '/');
}

/**
 * The paths of the run folder `dir`.
 *
 * @example
 * const run = runFolder('runs/exp1');
 * run.plan;                        // 'runs/exp1/plan.json'
 * run.checkpoint('p00-s0000050');  // 'runs/exp1/checkpoints/p00-s0000050'
 */
export function runFolder(dir: string): RunFolder {
  const at = (...names: string[]): string => joinRunPath(dir, ...names);
  return {
    dir,
    plan: at(RUN_FILES.plan),
    data: at(RUN_FILES.data),
    metrics: at(RUN_FILES.metrics),
    validation: at(RUN_FILES.validation),
    test: at(RUN_FILES.test),
    calibration: at(RUN_FILES.calibration),
    ood: at(RUN_FILES.ood),
    temperature: at(RUN_FILES.temperature),
    transfer: at(RUN_FILES.transfer),
    report: at(RUN_FILES.report),
    gallery: at(RUN_FILES.gallery),
    galleryIndex: at(RUN_FILES.gallery, GALLERY_INDEX_FILE),
    weights: at(RUN_FILES.weights),
    modelSpec: at(RUN_FILES.weights, MODEL_SPEC_FILE),
    checkpoints: at(RUN_FILES.checkpoints),
    checkpointPointer: at(RUN_FILES.checkpoints, CHECKPOINT_FILES.pointer),
    model: at(RUN_FILES.model),
    stage1: at(RUN_FILES.stage1),
    stage2: at(RUN_FILES.stage2),
    evaluation: (split) => (split === 'test' ? at(RUN_FILES.test) : at(`eval-${split}.json`)),
    checkpoint: (name) => at(RUN_FILES.checkpoints, name),
  };
}
