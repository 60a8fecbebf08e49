import {
  DataError,
  WEIGHTS_FILE_EXTENSION,
  loadBlockWeights,
  namedWeightsOf,
  saveBlockWeights,
  serializeBlock,
  tf,
  writeFileAtomic,
  type BinaryMask,
  type Block,
  type BlockSpec,
  type ScoredBox,
} from '@multichexnet/core';
import type { Encoder } from '@multichexnet/core-encoder';
import type { ClsHead } from '@multichexnet/head-cls';
import type { DetHead } from '@multichexnet/head-det';
import type { SegHead } from '@multichexnet/head-seg';
import { createEncoderCache, type Gate, type GateConfig, type GateDecision } from '@multichexnet/gating';
import type { TrainableVariable } from '../optim/optimizer';

/** The three task heads of MultiCheXNet. */
export const TASKS = ['cls', 'det', 'seg'] as const;
/** One of {@link TASKS}. */
export type TaskName = (typeof TASKS)[number];
/** The blocks of a model, in save order. */
export const BLOCK_NAMES = ['encoder', 'cls', 'det', 'seg', 'gate'] as const;
/** One of {@link BLOCK_NAMES} (`gate`: the head of a `binary-head` gate). */
export type BlockName = (typeof BLOCK_NAMES)[number];

/** The heads a model carries (any subset). */
export interface HeadSet {
  cls?: ClsHead;
  det?: DetHead;
  seg?: SegHead;
}

interface TaskOutputMap {
  cls: tf.Tensor2D;
  det: tf.Tensor4D;
  seg: tf.Tensor4D;
}

/**
 * Raw outputs of {@link MultiCheXNet.forward}, one entry per head the model has: `cls` logits [B, C] pre-sigmoid,
 * `det` raw [B, S, S, K*5], `seg` logits [B, H, W, 1] NHWC pre-sigmoid; `gate` logits [B, 1] for a binary-head gate.
 */
export type ForwardOutputs<H extends HeadSet> = { [K in keyof H & TaskName]: TaskOutputMap[K] } & { gate?: tf.Tensor2D };

/** How det/seg choose the images they run on at prediction time. */
export type Gating = 'gate' | 'truth' | 'none';

/** One image's plain predictions (no tensors). */
export interface ImagePrediction {
  /** Sigmoid probability per cls class (when the model has a cls head). */
  probabilities?: Record<string, number>;
  /** The gate's decision (when the model has a gate). */
  gate?: GateDecision;
  /** Whether det/seg ran on this image. */
  routed: boolean;
  /** Boxes in network-input pixels, best first; [] for an image det did not run on. */
  boxes?: ScoredBox[];
  /** Mask at the network input size; all zero for an image seg did not run on. */
  mask?: BinaryMask;
}

/** Options of {@link MultiCheXNet.predict}. */
export interface PredictOptions {
  /**
   * `gate` (default with a gate): det/seg run only on the gate's positives, the rest are predicted empty (the
   * pipeline's semantics: gate false positives get predictions, false negatives none). `truth`: only on
   * `truthPositive` images (ground-truth gating). `none`: on every image.
   */
  gating?: Gating;
  /** Required by `gating: 'truth'`: one flag per image. */
  truthPositive?: readonly boolean[];
  /** Det score threshold override. */
  detScoreThreshold?: number;
  /** Heads to run (default all). The gate always decides (cls runs for a cls-path gate, unreported). */
  tasks?: readonly TaskName[];
}

/** What `save` writes next to the weights: enough to rebuild the model with `loadMultiCheXNet`. */
export interface ModelSpec {
  format: 'multichexnet-model';
  blocks: Partial<Record<BlockName, BlockSpec & { file: string }>>;
  gate: GateConfig | null;
}

/** The parts of {@link createMultiCheXNet}. */
export interface MultiCheXNetParts<H extends HeadSet> {
  encoder: Encoder;
  heads: H;
  gate?: Gate | null;
}

/** Options of {@link MultiCheXNet.toLayersModel}. */
export interface ToLayersModelOptions {
  /** Network input: a side, or [height, width]; multiples of 32. */
  inputSize: number | [number, number];
}

/**
 * MultiCheXNet: one shared encoder (CheXEnc) and the heads given (CheXCls, CheXDet, CheXSeg), plus an optional
 * first-stage gate.
 */
export interface MultiCheXNet<H extends HeadSet = HeadSet> {
  readonly encoder: Encoder;
  readonly heads: H;
  readonly gate: Gate | null;
  /** The tasks of the heads given, in `TASKS` order. */
  readonly tasks: TaskName[];
  /**
   * Eager forward pass of images [B, H, W, C], NHWC: encoder once, then every head on all images. `training` puts
   * the trainable blocks in training mode (batch statistics, dropout); frozen blocks always run in inference mode.
   */
  forward(images: tf.Tensor4D, opts?: { training?: boolean }): ForwardOutputs<H>;
  /**
   * Plain predictions for images [B, H, W, C], NHWC, by the gated pipeline: encoder once, cls + gate, det/seg on the
   * chosen rows only.
   */
  predict(images: tf.Tensor4D, opts?: PredictOptions): ImagePrediction[];
  /** The block under a name, or null. */
  block(name: BlockName): Block<unknown, unknown, unknown> | null;
  /** Every block present, in {@link BLOCK_NAMES} order. */
  blocks(): [BlockName, Block<unknown, unknown, unknown>][];
  /** Freezes (false) / unfreezes (true) blocks by name; unnamed blocks keep their state. */
  setTrainable(flags: Partial<Record<BlockName, boolean>>): void;
  /** The variables of every trainable block under stable keys `<block>/<layer>/<weight>`. */
  trainableVariables(): TrainableVariable[];
  /** Output names of {@link toLayersModel}, in order: the tasks present, then `gate` for a binary-head gate. */
  readonly outputNames: string[];
  /** One functional LayersModel: input `image` -> nested encoder model -> nested head models (for ONNX export). */
  toLayersModel(opts: ToLayersModelOptions): tf.LayersModel;
  /** Writes `model.json` and one `.safetensors` per block into `dir` (atomically). Node only. */
  save(dir: string): Promise<ModelSpec>;
  /** Loads the weights of every block from a folder written by `save` (names and shapes must match). */
  load(dir: string): Promise<void>;
  /** The JSON spec (block specs and gate config). */
  spec(): ModelSpec;
  dispose(): void;
}

async function readModelSpec(dir: string): Promise<ModelSpec | null> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  try {
    return JSON.parse(await fs.readFile(join(dir, 'model.json'), 'utf8')) as ModelSpec;
  } catch {
    return null;
  }
}

function blockFile(name: BlockName): string {
  return `${name}${WEIGHTS_FILE_EXTENSION}`;
}

class MultiCheXNetImpl<H extends HeadSet> implements MultiCheXNet<H> {
  readonly encoder: Encoder;
  readonly heads: H;
  readonly gate: Gate | null;
  readonly tasks: TaskName[];

  constructor(parts: MultiCheXNetParts<H>) {
    this.encoder = parts.encoder;
    this.heads = parts.heads;
    this.gate = parts.gate ?? null;
    this.tasks = TASKS.filter((t) => this.heads[t] !== undefined);
    this.checkWiring();
  }

  private checkWiring(): void {
    const channels = JSON.stringify(this.encoder.featureChannels);
    for (const [name, block] of this.blocks()) {
      if (name === 'encoder') continue;
      const fc = (block.config as { featureChannels?: unknown }).featureChannels;
      if (fc !== undefined && JSON.stringify(fc) !== channels) {
        throw new DataError('Head does not fit the encoder: featureChannels differ', {
          field: `heads.${name}.config.featureChannels`,
          expected: channels,
          found: JSON.stringify(fc),
        });
      }
    }
    if (this.gate?.kind === 'cls-path') {
      if (this.heads.cls === undefined) {
        throw new DataError('A cls-path gate needs a cls head', { field: 'gate', expected: "heads.cls, or a 'binary-head' gate", found: 'no cls head' });
      }
      const names = (this.gate.config as Extract<GateConfig, { kind: 'cls-path' }>).classNames;
      if (JSON.stringify(names) !== JSON.stringify(this.heads.cls.config.classes)) {
        throw new DataError('The gate reads another class order than the cls head writes', { field: 'gate.classNames', expected: JSON.stringify(this.heads.cls.config.classes), found: JSON.stringify(names) });
      }
    }
  }

  block(name: BlockName): Block<unknown, unknown, unknown> | null {
    if (name === 'encoder') return this.encoder as unknown as Block<unknown, unknown, unknown>;
    if (name === 'gate') return (this.gate?.head ?? null) as Block<unknown, unknown, unknown> | null;
    return (this.heads[name] ?? null) as Block<unknown, unknown, unknown> | null;
  }

  blocks(): [BlockName, Block<unknown, unknown, unknown>][] {
    return BLOCK_NAMES.flatMap((n) => {
      const b = this.block(n);
      return b === null ? [] : [[n, b] as [BlockName, Block<unknown, unknown, unknown>]];
    });
  }

  setTrainable(flags: Partial<Record<BlockName, boolean>>): void {
    for (const [name, value] of Object.entries(flags) as [BlockName, boolean | undefined][]) {
      if (value === undefined) continue;
      const b = this.block(name);
      if (b === null) throw new DataError('No such block in this model', { field: name, expected: `one of ${this.blocks().map(([n]) => n).join(', ')}`, found: name });
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

  forward(images: tf.Tensor4D, opts: { training?: boolean } = {}): ForwardOutputs<H> {
    const training = opts.training === true;
    const mode = (b: Block<unknown, unknown, unknown>) => ({ training: training && b.trainable });
    return tf.tidy(() => {
      const features = this.encoder.apply(images, mode(this.encoder as unknown as Block<unknown, unknown, unknown>));
      const out: Record<string, tf.Tensor> = {};
      const { cls, det, seg } = this.heads;
      if (cls) out.cls = cls.apply(features, mode(cls));
      if (det) out.det = det.apply(features, mode(det));
      if (seg) out.seg = seg.apply(features, mode(seg));
      if (this.gate?.head) out.gate = this.gate.head.apply(features, mode(this.gate.head));
      return out;
    }) as unknown as ForwardOutputs<H>;
  }

  predict(images: tf.Tensor4D, opts: PredictOptions = {}): ImagePrediction[] {
    const gating = opts.gating ?? (this.gate !== null ? 'gate' : 'none');
    const B = images.shape[0];
    const [H, W] = [images.shape[1], images.shape[2]];
    if (gating === 'gate' && this.gate === null) {
      throw new DataError('Gated prediction needs a gate', { field: 'gating', expected: "a model with a gate, or gating 'none' / 'truth'", found: 'no gate' });
    }
    if (gating === 'truth' && opts.truthPositive?.length !== B) {
      throw new DataError('Ground-truth gating needs one truthPositive flag per image', { field: 'truthPositive', expected: `${B} flags`, found: String(opts.truthPositive?.length ?? 'none') });
    }
    const cache = createEncoderCache(this.encoder);
    const preds: ImagePrediction[] = Array.from({ length: B }, () => ({ routed: false }));
    try {
      const features = cache.features(images);
      const wanted = (t: TaskName): boolean => opts.tasks === undefined || opts.tasks.includes(t);
      const cls = wanted('cls') || this.gate?.reads === 'probabilities' ? this.heads.cls : undefined;
      const det = wanted('det') ? this.heads.det : undefined;
      const seg = wanted('seg') ? this.heads.seg : undefined;
      let probs: tf.Tensor2D | null = null;
      if (cls) {
        const logits = cls.apply(features);
        if (wanted('cls')) {
          cls.decode(logits).forEach((p, i) => {
            preds[i]!.probabilities = p.probabilities;
          });
        }
        probs = tf.sigmoid(logits);
        logits.dispose();
      }
      if (this.gate !== null) {
        const decisions = this.gate.reads === 'features' ? this.gate.decide(features) : this.gate.decide(probs!);
        decisions.forEach((d, i) => {
          preds[i]!.gate = d;
        });
      }
      probs?.dispose();
      const selected = preds.flatMap((p, i) => {
        const go = gating === 'none' ? true : gating === 'truth' ? opts.truthPositive![i]! : p.gate!.positive;
        return go ? [i] : [];
      });
      for (const i of selected) preds[i]!.routed = true;
      if (det || seg) {
        for (const p of preds) {
          if (det) p.boxes = [];
          if (seg) p.mask = { width: W, height: H, data: new Uint8Array(W * H) };
        }
        if (selected.length > 0) {
          const rows = cache.rows(selected);
          try {
            if (det) {
              const raw = det.apply(rows);
              const boxes = det.decode(raw, opts.detScoreThreshold === undefined ? {} : { scoreThreshold: opts.detScoreThreshold });
              raw.dispose();
              selected.forEach((i, k) => {
                preds[i]!.boxes = boxes[k]!;
              });
            }
            if (seg) {
              const logits = seg.apply(rows);
              const masks = seg.decode(logits);
              logits.dispose();
              selected.forEach((i, k) => {
                preds[i]!.mask = masks[k]!;
              });
            }
          } finally {
            tf.dispose([rows.c2, rows.c3, rows.c4, rows.c5]);
          }
        }
      }
    } finally {
      cache.clear();
    }
    return preds;
  }

  get outputNames(): string[] {
    return [...this.tasks, ...(this.gate?.head ? ['gate'] : [])];
  }

  toLayersModel(opts: ToLayersModelOptions): tf.LayersModel {
    const [h, w] = typeof opts.inputSize === 'number' ? [opts.inputSize, opts.inputSize] : opts.inputSize;
    for (const [axis, v] of [['height', h], ['width', w]] as const) {
      if (!Number.isInteger(v) || v <= 0 || v % 32 !== 0) {
        throw new DataError('Model input size must be a positive multiple of 32', { field: `inputSize.${axis}`, expected: 'a multiple of 32', found: String(v) });
      }
    }
    const image = tf.input({ shape: [h, w, this.encoder.config.inputChannels], name: 'image' });
    const features = this.encoder.apply(image);
    const outputs: tf.SymbolicTensor[] = [];
    if (this.heads.cls) outputs.push(this.heads.cls.apply(features));
    if (this.heads.det) outputs.push(this.heads.det.apply(features));
    if (this.heads.seg) outputs.push(this.heads.seg.apply(features));
    if (this.gate?.head) outputs.push(this.gate.head.apply(features));
    if (outputs.length === 0) throw new DataError('A model needs at least one head', { field: 'heads', expected: 'cls, det or seg', found: 'none' });
    return tf.model({ inputs: image, outputs, name: 'multichexnet' });
  }

  spec(): ModelSpec {
    const blocks: ModelSpec['blocks'] = {};
    for (const [name, block] of this.blocks()) blocks[name] = { ...serializeBlock(block), file: blockFile(name) };
    return { format: 'multichexnet-model', blocks, gate: this.gate?.config ?? null };
  }

  async save(dir: string): Promise<ModelSpec> {
    const { join } = await import('node:path');
    const spec = this.spec();
    for (const [name, block] of this.blocks()) await saveBlockWeights(block, join(dir, blockFile(name)));
    await writeFileAtomic(join(dir, 'model.json'), `${JSON.stringify(spec, null, 2)}\n`);
    return spec;
  }

  async load(dir: string): Promise<void> {
    const { join } = await import('node:path');
    // The file names model.json recorded (a folder saved before safetensors holds `.mcxw` files).
    const spec = await readModelSpec(dir);
    for (const [name, block] of this.blocks()) await loadBlockWeights(block, join(dir, spec?.blocks[name]?.file ?? blockFile(name)));
  }

  dispose(): void {
    for (const [, block] of this.blocks()) block.dispose();
  }
}

/**
 * Composes MultiCheXNet from an encoder, any subset of the heads and an optional gate. The output type of
 * `forward` follows the heads given. Checks that every head was built for this encoder's feature channels.
 *
 * @example
 * const encoder = createEncoder({ preset: 'densenet-tiny', seed: 1 });
 * const fc = encoder.featureChannels;
 * const model = createMultiCheXNet({
 *   encoder,
 *   heads: { cls: createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels: fc }), seg: createSegHead({ featureChannels: fc }) },
 * });
 * const { cls, seg } = model.forward(images);   // cls [B, 14] logits, seg [B, H, W, 1] logits
 * const graph = model.toLayersModel({ inputSize: 128 });   // for exportOnnx
 */
export function createMultiCheXNet<H extends HeadSet>(parts: MultiCheXNetParts<H>): MultiCheXNet<H> {
  if (parts === null || typeof parts !== 'object' || parts.encoder === undefined) {
    throw new DataError('createMultiCheXNet needs an encoder', { field: 'encoder', expected: 'an Encoder (createEncoder)', found: String(parts?.encoder) });
  }
  return new MultiCheXNetImpl(parts);
}
