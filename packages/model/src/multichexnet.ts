import {
  DataError,
  WEIGHTS_FILE_EXTENSION,
  inputImageSpace,
  loadBlockWeights,
  namedWeightsOf,
  readRow,
  MODEL_SPEC_FILE,
  saveBlockWeights,
  serializeBlock,
  tf,
  writeFileAtomic,
  type AnyTaskSpec,
  type Block,
  type BlockSpec,
  type EncoderFeatures,
  type GateDecision,
  type ImageSpace,
  type PlainTensor,
  type TaskHead,
} from '@multichexnet/core';
import type { Encoder } from '@multichexnet/core-encoder';
import { createEncoderCache, type Gate, type GateConfig } from '@multichexnet/gating';
import type { ClsPrediction } from '@multichexnet/head-cls';
import type { DetPrediction } from '@multichexnet/head-det';
import type { SegPrediction } from '@multichexnet/head-seg';
import { specOf, taskTable, type HeadOf } from './table';

/** The block of the shared encoder. */
export const ENCODER_BLOCK = 'encoder';
/** The block of a `binary-head` gate's head. */
export const GATE_BLOCK = 'gate';

/** A trainable variable under a stable key `<block>/<layer>/<weight>` (what optimizers and checkpoints index by). */
export interface TrainableVariable {
  key: string;
  variable: tf.Variable;
}

/** The heads of a model by task name (any subset of the table). */
export type HeadSet = Readonly<Record<string, TaskHead>>;

/**
 * Raw outputs of {@link MultiCheXNet.forward} by task name, each head's own output (CheXCls logits [B, C], CheXDet
 * raw [B, S, S, K*5], CheXSeg logits [B, H, W, 1], ...), and `gate` logits [B, 1] for a binary-head gate.
 */
export type ForwardOutputs = Record<string, tf.Tensor>;

/** How routed tasks (det / seg style) choose the images they run on at prediction time. */
export type Gating = 'gate' | 'truth' | 'none';

/** What the built-in decoders write into an image's prediction, typed; other tasks add their own fields. */
export type TaskPredictionFields = Partial<ClsPrediction & DetPrediction & SegPrediction> & {
  readonly [field: string]: unknown;
};

/** One image's plain predictions (no tensors): the fields of each task's decoder, the gate, the routing. */
export type ImagePrediction = TaskPredictionFields & {
  /** The gate's decision (when the model has a gate). */
  gate?: GateDecision;
  /** Whether the routed tasks ran on this image. */
  routed: boolean;
};

/** Options of {@link MultiCheXNet.predict}. */
export interface PredictOptions {
  /**
   * `gate` (default with a gate): routed tasks run only on the gate's positives, the rest get their decoder's empty
   * prediction (the pipeline's semantics: gate false positives get predictions, false negatives none). `truth`:
   * only on `truthPositive` images (ground-truth gating). `none`: on every image.
   */
  gating?: Gating;
  /** Required by `gating: 'truth'`: one flag per image. */
  truthPositive?: readonly boolean[];
  /** Tasks to run (default all). The gate always decides (its task runs for a cls-path gate, unreported). */
  tasks?: readonly string[];
  /**
   * Decision settings per task over the head's own, e.g. `{ det: { scoreThreshold: 0.1 } }` (the decoder checks them).
   */
  decode?: Readonly<Record<string, unknown>>;
}

/** What `save` writes next to the weights: enough to rebuild the model with `loadMultiCheXNet`. */
export interface ModelSpec {
  format: 'multichexnet-model';
  /** Block specs by block name: `encoder`, the task names, `gate`. */
  blocks: Record<string, BlockSpec & { file: string }>;
  gate: GateConfig | null;
  /**
   * The task names, in table order (absent in folders saved before the task table: then every non-encoder, non-gate
   * block).
   */
  tasks?: string[];
}

/** The parts of {@link createMultiCheXNet}. */
export interface MultiCheXNetParts {
  encoder: Encoder;
  /** Heads by task name (`cls`, `det`, `seg`, or a task of `tasks`). */
  heads: Readonly<Record<string, TaskHead>>;
  gate?: Gate | null;
  /** Task specs besides the built-in ones (a user's own tasks). */
  tasks?: readonly AnyTaskSpec[] | undefined;
}

/** Options of {@link MultiCheXNet.toLayersModel}. */
export interface ToLayersModelOptions {
  /** Network input: a side, or [height, width]; multiples of 32. */
  inputSize: number | [number, number];
}

/**
 * MultiCheXNet: one shared encoder (CheXEnc), the task heads given (any subset of the task table: CheXCls, CheXDet,
 * CheXSeg, a user's own), plus an optional first-stage gate.
 */
export interface MultiCheXNet {
  readonly encoder: Encoder;
  readonly heads: HeadSet;
  readonly gate: Gate | null;
  /** The tasks of the heads given, in table order. */
  readonly tasks: readonly string[];
  /** The specs of {@link tasks}, in the same order. */
  readonly taskSpecs: readonly AnyTaskSpec[];
  /** The spec of one of the model's tasks (a DataError for a task it lacks). */
  taskSpec(task: string): AnyTaskSpec;
  /** The head of a spec's task, typed by the spec, or undefined when the model lacks the task. */
  headOf<S extends AnyTaskSpec>(spec: S): HeadOf<S> | undefined;
  /**
   * Eager forward pass of images [B, H, W, C], NHWC: encoder once, then every head on all images. `training` puts
   * the trainable blocks in training mode (batch statistics, dropout); frozen blocks always run in inference mode.
   */
  forward(images: tf.Tensor4D, opts?: { training?: boolean }): ForwardOutputs;
  /**
   * Plain predictions for images [B, H, W, C], NHWC, by the gated pipeline and the tasks' own decoders: encoder once,
   * unrouted tasks and the gate on every image, routed tasks on the chosen rows only. Boxes and masks are in
   * network-input pixels.
   */
  predict(images: tf.Tensor4D, opts?: PredictOptions): ImagePrediction[];
  /** The block under a name (`encoder`, a task, `gate`), or null. */
  block(name: string): Block<unknown, unknown, unknown> | null;
  /** Every block present: the encoder, the tasks in order, then the gate head. */
  blocks(): [string, Block<unknown, unknown, unknown>][];
  /** Freezes (false) / unfreezes (true) blocks by name; unnamed blocks keep their state. */
  setTrainable(flags: Readonly<Record<string, boolean | undefined>>): void;
  /** The variables of every trainable block under stable keys `<block>/<layer>/<weight>`. */
  trainableVariables(): TrainableVariable[];
  /** Output names of {@link toLayersModel}, in order: the tasks, then `gate` for a binary-head gate. */
  readonly outputNames: string[];
  /** One functional LayersModel: input `image` -> nested encoder model -> nested head models (for ONNX export). */
  toLayersModel(opts: ToLayersModelOptions): tf.LayersModel;
  /** Writes `model.json` and one `.safetensors` per block into `dir` (atomically). Node only. */
  save(dir: string): Promise<ModelSpec>;
  /** Loads the weights of every block from a folder written by `save` (names and shapes must match). */
  load(dir: string): Promise<void>;
  /** The JSON spec (block specs, gate config, tasks). */
  spec(): ModelSpec;
  dispose(): void;
}

async function readModelSpec(dir: string): Promise<ModelSpec | null> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  try {
    return JSON.parse(await fs.readFile(join(dir, MODEL_SPEC_FILE), 'utf8')) as ModelSpec;
  } catch {
    return null;
  }
}

function blockFile(name: string): string {
  return `${name}${WEIGHTS_FILE_EXTENSION}`;
}

type AnyBlock = Block<unknown, unknown, unknown>;

/** A task's raw output as the export writes it: its declared activation applied, read back, derived outputs added. */
function plainOutputs(
  spec: AnyTaskSpec,
  head: TaskHead,
  raw: tf.Tensor,
  inputSize: { width: number; height: number },
): Record<string, PlainTensor> {
  const out = spec.outputs[0]!;
  const data = out.activation === 'sigmoid' ? tf.tidy(() => tf.sigmoid(raw).dataSync()) : raw.dataSync();
  const outputs: Record<string, PlainTensor> = { [out.name]: { data, dims: raw.shape } };
  return spec.derivedOutputs === undefined
    ? outputs
    : { ...outputs, ...spec.derivedOutputs.plain(outputs, { head, inputSize }) };
}

class MultiCheXNetImpl implements MultiCheXNet {
  readonly encoder: Encoder;
  readonly heads: HeadSet;
  readonly gate: Gate | null;
  readonly tasks: readonly string[];
  readonly taskSpecs: readonly AnyTaskSpec[];

  constructor(parts: MultiCheXNetParts) {
    this.encoder = parts.encoder;
    this.gate = parts.gate ?? null;
    const table = taskTable(parts.tasks);
    const heads = parts.heads ?? {};
    for (const name of Object.keys(heads)) specOf(table, name, `heads.${name}`);
    this.taskSpecs = Object.freeze(table.filter((s) => heads[s.name] !== undefined));
    this.tasks = Object.freeze(this.taskSpecs.map((s) => s.name));
    this.heads = Object.freeze(Object.fromEntries(this.tasks.map((t) => [t, heads[t]!])));
    this.checkWiring();
  }

  private checkWiring(): void {
    const channels = JSON.stringify(this.encoder.featureChannels);
    for (const spec of this.taskSpecs) {
      const head = this.heads[spec.name]!;
      if (head.className !== spec.headClassName) {
        throw new DataError('The head is not the head of its task', {
          field: `heads.${spec.name}`,
          expected: spec.headClassName,
          found: String(head.className),
        });
      }
    }
    for (const [name, block] of this.blocks()) {
      if (name === ENCODER_BLOCK) continue;
      const fc = (block.config as { featureChannels?: unknown }).featureChannels;
      if (fc !== undefined && JSON.stringify(fc) !== channels) {
        throw new DataError('Head does not fit the encoder: featureChannels differ', {
          field: `heads.${name}.config.featureChannels`,
          expected: channels,
          found: JSON.stringify(fc),
        });
      }
    }
    const g = this.gate;
    if (g?.kind === 'cls-path') {
      const cfg = g.config as Extract<GateConfig, { kind: 'cls-path' }>;
      const spec = this.taskSpecs.find((s) => s.name === cfg.task);
      if (spec === undefined) {
        throw new DataError(`A cls-path gate needs the task it reads (${cfg.task})`, {
          field: 'gate.task',
          expected: `a ${cfg.task} head, or a 'binary-head' gate`,
          found: `tasks ${this.tasks.join(', ') || '(none)'}`,
        });
      }
      if (spec.routed || spec.classesOf === undefined) {
        throw new DataError('A cls-path gate reads the class probabilities of an unrouted task', {
          field: 'gate.task',
          expected: 'a task with classes that runs on every image',
          found: cfg.task,
        });
      }
      const classes = spec.classesOf(this.heads[spec.name]);
      if (JSON.stringify(cfg.classNames) !== JSON.stringify(classes)) {
        throw new DataError('The gate reads another class order than its task writes', {
          field: 'gate.classNames',
          expected: JSON.stringify(classes),
          found: JSON.stringify(cfg.classNames),
        });
      }
    }
  }

  taskSpec(task: string): AnyTaskSpec {
    return specOf(this.taskSpecs, task, 'task');
  }

  headOf<S extends AnyTaskSpec>(spec: S): HeadOf<S> | undefined {
    const own = this.taskSpecs.find((s) => s.name === spec.name);
    return own === spec ? (this.heads[spec.name] as HeadOf<S>) : undefined;
  }

  block(name: string): AnyBlock | null {
    if (name === ENCODER_BLOCK) return this.encoder as unknown as AnyBlock;
    if (name === GATE_BLOCK) return (this.gate?.head ?? null) as AnyBlock | null;
    return (this.heads[name] ?? null) as AnyBlock | null;
  }

  blocks(): [string, AnyBlock][] {
    return [ENCODER_BLOCK, ...this.tasks, GATE_BLOCK].flatMap((n) => {
      const b = this.block(n);
      return b === null ? [] : [[n, b] as [string, AnyBlock]];
    });
  }

  setTrainable(flags: Readonly<Record<string, boolean | undefined>>): void {
    for (const [name, value] of Object.entries(flags)) {
      if (value === undefined) continue;
      const b = this.block(name);
      if (b === null)
        throw new DataError('No such block in this model', {
          field: name,
          expected: `one of ${this.blocks()
            .map(([n]) => n)
            .join(', ')}`,
          found: name,
        });
      b.trainable = value;
    }
  }

  trainableVariables(): TrainableVariable[] {
    const out: TrainableVariable[] = [];
    for (const [name, block] of this.blocks()) {
      if (!block.trainable) continue;
      const trainable = new Set(block.trainableWeights);
      const model = (block as unknown as { layersModel: tf.LayersModel }).layersModel;
      for (const { name: weight, variable } of namedWeightsOf(model)) {
        if (trainable.has(variable)) out.push({ key: `${name}/${weight}`, variable: variable.read() as tf.Variable });
      }
    }
    return out;
  }

  forward(images: tf.Tensor4D, opts: { training?: boolean } = {}): ForwardOutputs {
    const training = opts.training === true;
    const mode = (b: { trainable: boolean }) => ({ training: training && b.trainable });
    return tf.tidy(() => {
      const features = this.encoder.apply(images, mode(this.encoder));
      const out: Record<string, tf.Tensor> = {};
      for (const task of this.tasks) out[task] = this.heads[task]!.apply(features, mode(this.heads[task]!));
      if (this.gate?.head) out[GATE_BLOCK] = this.gate.head.apply(features, mode(this.gate.head));
      return out;
    });
  }

  predict(images: tf.Tensor4D, opts: PredictOptions = {}): ImagePrediction[] {
    const gating = opts.gating ?? (this.gate !== null ? 'gate' : 'none');
    const B = images.shape[0];
    const inputSize = { width: images.shape[2], height: images.shape[1] };
    if (gating === 'gate' && this.gate === null) {
      throw new DataError('Gated prediction needs a gate', {
        field: 'gating',
        expected: "a model with a gate, or gating 'none' / 'truth'",
        found: 'no gate',
      });
    }
    if (gating === 'truth' && opts.truthPositive?.length !== B) {
      throw new DataError('Ground-truth gating needs one truthPositive flag per image', {
        field: 'truthPositive',
        expected: `${B} flags`,
        found: String(opts.truthPositive?.length ?? 'none'),
      });
    }
    for (const t of opts.tasks ?? []) this.taskSpec(t);
    const wanted = (t: string): boolean => opts.tasks === undefined || opts.tasks.includes(t);
    const gateTask =
      this.gate?.reads === 'probabilities'
        ? (this.gate.config as Extract<GateConfig, { kind: 'cls-path' }>).task
        : null;
    const image: ImageSpace = inputImageSpace(inputSize);
    const settingsOf = (spec: AnyTaskSpec): unknown =>
      spec.decoder.settings(spec.decodeSettings(this.heads[spec.name]), opts.decode?.[spec.name]);
    const preds: ImagePrediction[] = Array.from({ length: B }, () => ({ routed: false }));
    const cache = createEncoderCache(this.encoder);
    try {
      const features = cache.features(images);
      const run = (spec: AnyTaskSpec, rows: EncoderFeatures): Record<string, PlainTensor> => {
        const head = this.heads[spec.name]!;
        const raw = head.apply(rows);
        try {
          return plainOutputs(spec, head, raw, inputSize);
        } finally {
          raw.dispose();
        }
      };
      let gateRows: ArrayLike<number>[] | null = null;
      for (const spec of this.taskSpecs.filter((s) => !s.routed && (wanted(s.name) || s.name === gateTask))) {
        const outputs = run(spec, features);
        if (wanted(spec.name)) {
          const settings = settingsOf(spec);
          preds.forEach((p, index) => Object.assign(p, spec.decoder.decode(outputs, { index, settings, image })));
        }
        if (spec.name === gateTask) gateRows = preds.map((_, i) => readRow(outputs, spec.outputs[0]!.name, i));
      }
      if (this.gate !== null) {
        const decisions = this.gate.reads === 'features' ? this.gate.decide(features) : this.gate.decide(gateRows!);
        decisions.forEach((d, i) => {
          preds[i]!.gate = d;
        });
      }
      const selected = preds.flatMap((p, i) =>
        (gating === 'none' ? true : gating === 'truth' ? opts.truthPositive![i]! : p.gate!.positive) ? [i] : [],
      );
      for (const i of selected) preds[i]!.routed = true;
      const routed = this.taskSpecs.filter((s) => s.routed && wanted(s.name));
      if (routed.length > 0) {
        const settings = new Map(routed.map((s) => [s.name, settingsOf(s)]));
        for (const p of preds) for (const s of routed) Object.assign(p, s.decoder.empty(settings.get(s.name)));
        if (selected.length > 0) {
          const rows = selected.length === B && selected.every((r, k) => r === k) ? features : cache.rows(selected);
          try {
            for (const spec of routed) {
              const outputs = run(spec, rows);
              selected.forEach((i, index) =>
                Object.assign(
                  preds[i]!,
                  spec.decoder.decode(outputs, { index, settings: settings.get(spec.name), image }),
                ),
              );
            }
          } finally {
            if (rows !== features) tf.dispose([rows.c2, rows.c3, rows.c4, rows.c5]);
          }
        }
      }
    } finally {
      cache.clear();
    }
    return preds;
  }

  get outputNames(): string[] {
    return [...this.tasks, ...(this.gate?.head ? [GATE_BLOCK] : [])];
  }

  toLayersModel(opts: ToLayersModelOptions): tf.LayersModel {
    const [h, w] = typeof opts.inputSize === 'number' ? [opts.inputSize, opts.inputSize] : opts.inputSize;
    for (const [axis, v] of [
      ['height', h],
      ['width', w],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0 || v % 32 !== 0) {
        throw new DataError('Model input size must be a positive multiple of 32', {
          field: `inputSize.${axis}`,
          expected: 'a multiple of 32',
          found: String(v),
        });
      }
    }
    const image = tf.input({ shape: [h, w, this.encoder.config.inputChannels], name: 'image' });
    const features = this.encoder.apply(image);
    const outputs: tf.SymbolicTensor[] = this.tasks.map((t) => this.heads[t]!.apply(features));
    if (this.gate?.head) outputs.push(this.gate.head.apply(features));
    if (outputs.length === 0)
      throw new DataError('A model needs at least one head', {
        field: 'heads',
        expected: 'a task head or a gate head',
        found: 'none',
      });
    return tf.model({ inputs: image, outputs, name: 'multichexnet' });
  }

  spec(): ModelSpec {
    const blocks: ModelSpec['blocks'] = {};
    for (const [name, block] of this.blocks()) blocks[name] = { ...serializeBlock(block), file: blockFile(name) };
    return { format: 'multichexnet-model', blocks, gate: this.gate?.config ?? null, tasks: [...this.tasks] };
  }

  async save(dir: string): Promise<ModelSpec> {
    const { join } = await import('node:path');
    const spec = this.spec();
    for (const [name, block] of this.blocks()) await saveBlockWeights(block, join(dir, blockFile(name)));
    await writeFileAtomic(join(dir, MODEL_SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
    return spec;
  }

  async load(dir: string): Promise<void> {
    const { join } = await import('node:path');
    // The file names model.json recorded (a folder saved before safetensors holds `.mcxw` files).
    const spec = await readModelSpec(dir);
    for (const [name, block] of this.blocks())
      await loadBlockWeights(block, join(dir, spec?.blocks[name]?.file ?? blockFile(name)));
  }

  dispose(): void {
    for (const [, block] of this.blocks()) block.dispose();
  }
}

/**
 * Composes MultiCheXNet from an encoder, any subset of the task heads (by task name) and an optional gate. Checks that
 * every head is its task's head and was built for this encoder's feature channels, and that a cls-path gate's task
 * is there with the class order the gate reads. A user's own task comes with its spec in `tasks`.
 *
 * @example
 * const encoder = createEncoder({ preset: 'densenet-tiny', seed: 1 });
 * const fc = encoder.featureChannels;
 * const model = createMultiCheXNet({ encoder, heads: { cls: clsTask.createHead({}, fc), seg: segTask.createHead({}, fc) } });
 * const { cls, seg } = model.forward(images);   // cls [B, 14] logits, seg [B, H, W, 1] logits
 * const [p] = model.predict(images);            // { probabilities, mask, routed }
 */
export function createMultiCheXNet(parts: MultiCheXNetParts): MultiCheXNet {
  if (parts === null || typeof parts !== 'object' || parts.encoder === undefined) {
    throw new DataError('createMultiCheXNet needs an encoder', {
      field: 'encoder',
      expected: 'an Encoder (createEncoder)',
      found: String(parts?.encoder),
    });
  }
  return new MultiCheXNetImpl(parts);
}
