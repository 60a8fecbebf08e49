import { DataError, parseConfig, z, type BinaryMask, type GrayImage, type ScoredBox } from '@multichexnet/core';
import { preprocessImage, rleEncode, type DecodedImage, type FitTransform, type PreprocessConfig } from '@multichexnet/data';
import { loadModel, type OnnxModel } from '../model/load-model';
import type { ModelMetadata } from '../model/metadata';
import { resolveBackend } from '../model/ort-session';
import { runModel, type TensorData } from '../model/run-model';
import { decodeBoxes, decodeMask } from './decode-outputs';
import { PIPELINE_FILES } from './export-pipeline';

/**
 * Where the pipeline's graphs come from: a run folder (path in Node, URL anywhere; the two-stage files when present,
 * else `model.onnx`), a `.onnx` file, the two stages as bytes/paths/URLs, or one single graph (`{ model }`, role
 * `model`: every head runs on every image and the gate only decides which results are decoded).
 */
export type PipelineModelSource =
  | string
  | { stage1: Uint8Array | string; stage2?: Uint8Array | string | null }
  | { model: Uint8Array | string };

/** Options of {@link createPipeline} besides the model. */
export const PipelineOptionsSchema = z
  .object({
    /** onnxruntime-node (`node`), onnxruntime-web (`web`), or `auto` (node in Node, web in browsers). */
    backend: z.enum(['auto', 'node', 'web']).default('auto'),
    /** Intra-op threads (wasm threads for `web`). */
    threads: z.number().int().positive().optional(),
    /** `web` only: where onnxruntime-web fetches its .wasm files (a URL prefix), when not next to the bundle. */
    wasmPaths: z.string().optional(),
    /** `enabled: false` runs det/seg on every image (ungated); `threshold` overrides the model's. */
    gate: z.object({ enabled: z.boolean().default(true), threshold: z.number().min(0).max(1).optional() }).strict().prefault({}),
    /** Overrides of the det decoding the model recorded. */
    det: z.object({ scoreThreshold: z.number().min(0).max(1), nmsIoU: z.number().min(0).max(1), maxDetections: z.number().int().positive() }).partial().strict().prefault({}),
    /** Override of the seg mask threshold the model recorded. */
    seg: z.object({ threshold: z.number().gt(0).lt(1) }).partial().strict().prefault({}),
    /** Images per stage-1 run in {@link Pipeline.runBatch}. */
    batchSize: z.number().int().positive().default(16),
  })
  .strict();
export type PipelineOptions = z.input<typeof PipelineOptionsSchema>;

/** Milliseconds spent per step; batch steps are shared evenly among the images of the batch that took them. */
export interface PipelineTimings {
  preprocessMs: number;
  /** Encoder + cls + gate. */
  stage1Ms: number;
  /** Det + seg on the cached features (0 for images the gate stopped). */
  stage2Ms: number;
  decodeMs: number;
  totalMs: number;
}

/** One image's result. */
export interface PipelineResult {
  /** Sigmoid probability per class name. */
  probabilities: Record<string, number>;
  /** The first-stage gate: its probability and whether the image went on to det/seg. */
  gate: { probability: number; positive: boolean };
  /** Boxes in original image pixels, best first ([] when gated out or no det head). */
  boxes: ScoredBox[];
  /** Mask at the original image size (null when gated out or no seg head). */
  mask: BinaryMask | null;
  /** SIIM run-length encoding of `mask` (`-1` when empty or gated out, '' when the model has no seg head). */
  maskRle: string;
  timings: PipelineTimings;
}

/** A loaded gated pipeline. */
export interface Pipeline {
  /** Stage-1 metadata: classes, preprocessing, gate, blocks, versions. */
  readonly metadata: ModelMetadata;
  /**
   * Runs one decoded image (`decodeImage` of @multichexnet/data, or any GrayImage: without `maxValue`, 8-bit
   * data counts as 0..255, 16-bit as 0..65535, float as 0..1).
   */
  run(image: GrayImage | DecodedImage): Promise<PipelineResult>;
  /** Runs many, `batchSize` per stage-1 call, gated positives together in stage 2. */
  runBatch(images: readonly (GrayImage | DecodedImage)[]): Promise<PipelineResult[]>;
  /** Releases both sessions. */
  dispose(): Promise<void>;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

type ResolvedSources = { stage1: Uint8Array | string; stage2: Uint8Array | string | null } | { model: Uint8Array | string };

async function exists(target: string, isUrl: boolean): Promise<boolean> {
  if (isUrl) {
    const head = await fetch(target, { method: 'HEAD' }).catch(() => null);
    return head !== null && head.ok;
  }
  const { access } = await import('node:fs/promises');
  return access(target).then(
    () => true,
    () => false,
  );
}

async function resolveSources(model: PipelineModelSource): Promise<ResolvedSources> {
  if (typeof model !== 'string') return 'model' in model ? { model: model.model } : { stage1: model.stage1, stage2: model.stage2 ?? null };
  if (model.endsWith('.onnx')) return { model };
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  const isUrl = !isNode || /^https?:\/\//.test(model);
  const join = isUrl ? (a: string, b: string) => `${a.endsWith('/') ? a : `${a}/`}${b}` : (await import('node:path')).join;
  const stage1 = join(model, PIPELINE_FILES.stage1);
  if (!(await exists(stage1, isUrl))) return { model: join(model, PIPELINE_FILES.model) };
  const stage2 = join(model, PIPELINE_FILES.stage2);
  return { stage1, stage2: (await exists(stage2, isUrl)) ? stage2 : null };
}

/**
 * Loads the two graphs written by {@link exportPipeline} and returns the gated inference pipeline: each image is
 * preprocessed as in training (from the model's metadata), the encoder + cls + gate run once, and only images the
 * gate passes go through det/seg, which read the cached encoder features of stage 1 (no second encoder pass).
 *
 * @example
 * const pipe = await createPipeline({ model: 'runs/exp1' });
 * const result = await pipe.run(decodedImage);
 * result.probabilities.Pneumothorax; result.gate.positive; result.boxes; result.maskRle;
 * await pipe.dispose();
 */
export async function createPipeline(args: { model: PipelineModelSource } & PipelineOptions): Promise<Pipeline> {
  const { model, ...rest } = args;
  const opts = parseConfig(PipelineOptionsSchema, rest, 'pipeline options');
  const sources = await resolveSources(model);
  const load = {
    backend: resolveBackend(opts.backend),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.wasmPaths !== undefined ? { wasmPaths: opts.wasmPaths } : {}),
  };
  const single = 'model' in sources;
  const stage1 = await loadModel(single ? sources.model : sources.stage1, load);
  let stage2: OnnxModel | null = null;
  try {
    const role = stage1.metadata.role;
    // A `.onnx` path may name either kind of graph: a stage 1 alone runs cls + gate only.
    if (single ? role !== 'model' && role !== 'stage1' : role !== 'stage1') {
      throw new DataError('Pipeline model has the wrong role', { file: stage1.source, field: 'multichexnet.role', expected: single ? 'model or stage1' : 'stage1', found: role });
    }
    if (stage1.metadata.preprocessing === null) {
      throw new DataError('Pipeline model lacks its preprocessing', { file: stage1.source, field: 'multichexnet.preprocessing', expected: 'a preprocessing spec', found: 'null' });
    }
    if (!single && sources.stage2 !== null) {
      stage2 = await loadModel(sources.stage2, load);
      if (stage2.metadata.role !== 'stage2' || stage2.metadata.pairedWith !== stage1.checksum) {
        throw new DataError('Pipeline stage 2 does not belong to this stage 1 (export both together)', {
          file: stage2.source,
          field: 'multichexnet.pairedWith',
          expected: stage1.checksum,
          found: `${stage2.metadata.role} paired with ${stage2.metadata.pairedWith ?? 'nothing'}`,
        });
      }
    }
  } catch (e) {
    await stage1.dispose();
    await stage2?.dispose();
    throw e;
  }
  return new GatedPipeline(stage1, stage2, opts);
}

type ResolvedOptions = z.output<typeof PipelineOptionsSchema>;

class GatedPipeline implements Pipeline {
  readonly metadata: ModelMetadata;
  private readonly preprocess: PreprocessConfig;
  private readonly channels: number;
  private readonly featureNames: string[];
  private readonly gateOutput: string;
  private readonly gateThreshold: number;

  constructor(
    private readonly stage1: OnnxModel,
    private readonly stage2: OnnxModel | null,
    private readonly opts: ResolvedOptions,
  ) {
    this.metadata = stage1.metadata;
    this.preprocess = this.metadata.preprocessing!;
    const image = this.metadata.inputs[0]!;
    this.channels = image.shape[3] ?? 1;
    if (image.shape[1] !== this.preprocess.size || image.shape[2] !== this.preprocess.size) {
      throw new DataError('Model input size differs from its preprocessing size', {
        file: stage1.source,
        field: 'multichexnet.preprocessing.size',
        expected: `${image.shape[1]} x ${image.shape[2]}`,
        found: `${this.preprocess.size} x ${this.preprocess.size}`,
      });
    }
    this.featureNames = stage2?.metadata.inputs.map((i) => i.name) ?? [];
    const gate = this.metadata.gate;
    this.gateOutput = gate === null || gate.source === 'cls' ? 'gate_prob' : gate.output;
    this.gateThreshold = opts.gate.threshold ?? gate?.threshold ?? 0.5;
    if (gate === null && opts.gate.enabled) {
      throw new DataError('Model has no gate; create the pipeline with gate: { enabled: false }', { file: stage1.source, field: 'multichexnet.gate', expected: 'a gate spec', found: 'null' });
    }
  }

  async run(image: GrayImage | DecodedImage): Promise<PipelineResult> {
    return (await this.runBatch([image]))[0]!;
  }

  async runBatch(images: readonly (GrayImage | DecodedImage)[]): Promise<PipelineResult[]> {
    const out: PipelineResult[] = [];
    for (let i = 0; i < images.length; i += this.opts.batchSize) out.push(...(await this.runChunk(images.slice(i, i + this.opts.batchSize))));
    return out;
  }

  private async runChunk(images: readonly (GrayImage | DecodedImage)[]): Promise<PipelineResult[]> {
    const B = images.length;
    const S = this.preprocess.size;
    const C = this.channels;
    const per = S * S * C;
    const batch = new Float32Array(B * per);
    const transforms: FitTransform[] = [];
    const preMs = images.map((img, b) => {
      const t = now();
      const { input, transform } = preprocessImage(asDecoded(img, b), this.preprocess);
      if (C === 1) batch.set(input, b * per);
      else for (let i = 0; i < S * S; i++) batch.fill(input[i]!, b * per + i * C, b * per + (i + 1) * C);
      transforms.push(transform);
      return now() - t;
    });

    let t = now();
    const s1 = await runModel(this.stage1, { image: { data: batch, dims: [B, S, S, C] } });
    const stage1Ms = (now() - t) / B;

    const classes = this.metadata.classNames;
    const probs = s1.cls_probs!;
    const K = probs.dims[1]!;
    const gateData = this.metadata.gate === null ? null : s1[this.gateOutput]!.data;
    const gates = images.map((_, b) => {
      const probability = gateData === null ? 1 : gateData[b * (gateData.length / B)]!;
      return { probability, positive: !this.opts.gate.enabled || probability >= this.gateThreshold };
    });
    const positives = gates.flatMap((g, b) => (g.positive ? [b] : []));

    // Where the det/seg outputs of positive image b sit: row b of the single graph's outputs, or its position among
    // the positives in stage 2's.
    const single = this.metadata.role === 'model';
    let s2: Record<string, TensorData> | null = single ? s1 : null;
    const rowOf = (b: number): number => (!gates[b]!.positive ? -1 : single ? b : positives.indexOf(b));
    let stage2Ms = 0;
    if (this.stage2 !== null && positives.length > 0) {
      t = now();
      const feeds: Record<string, TensorData> = {};
      for (const name of this.featureNames) feeds[name] = gatherRows(s1[name]!, positives);
      s2 = await runModel(this.stage2, feeds);
      stage2Ms = (now() - t) / positives.length;
    }

    const decode = this.stage2?.metadata.decode ?? this.metadata.decode;
    const detSettings = decode.det === null ? null : { ...decode.det, ...this.opts.det };
    const segThreshold = this.opts.seg.threshold ?? decode.seg?.threshold ?? 0.5;
    const hasSeg = decode.seg !== null && (this.stage2 !== null || single);
    return images.map((_, b) => {
      const td = now();
      const probabilities: Record<string, number> = {};
      for (let k = 0; k < K; k++) probabilities[classes[k] ?? `class_${k}`] = probs.data[b * K + k]!;
      const row = rowOf(b);
      let boxes: ScoredBox[] = [];
      let mask: BinaryMask | null = null;
      if (s2 !== null && row >= 0) {
        if (detSettings !== null && s2.det_boxes !== undefined) {
          const n = s2.det_scores!.dims[1]!;
          boxes = decodeBoxes(s2.det_boxes.data.subarray(row * n * 4, (row + 1) * n * 4), s2.det_scores!.data.subarray(row * n, (row + 1) * n), detSettings, transforms[b]!);
        }
        if (hasSeg && s2.seg_mask !== undefined) {
          mask = decodeMask(s2.seg_mask.data.subarray(row * S * S, (row + 1) * S * S), S, transforms[b]!, segThreshold);
        }
      }
      const maskRle = !hasSeg ? '' : mask === null ? '-1' : rleEncode(mask);
      const decodeMs = now() - td;
      const timings: PipelineTimings = {
        preprocessMs: preMs[b]!,
        stage1Ms,
        stage2Ms: row >= 0 && !single ? stage2Ms : 0,
        decodeMs,
        totalMs: 0,
      };
      timings.totalMs = timings.preprocessMs + timings.stage1Ms + timings.stage2Ms + timings.decodeMs;
      return { probabilities, gate: gates[b]!, boxes, mask, maskRle, timings };
    });
  }

  async dispose(): Promise<void> {
    await this.stage1.dispose();
    await this.stage2?.dispose();
  }
}

/** A GrayImage with the `maxValue` its sample type implies, unless it says its own. */
function asDecoded(image: GrayImage | DecodedImage, index: number): DecodedImage {
  if (image === null || typeof image !== 'object' || !(image.width > 0 && image.height > 0) || image.data?.length !== image.width * image.height) {
    throw new DataError('Image data does not match its size', {
      row: index + 1,
      field: 'image',
      expected: image && image.width > 0 && image.height > 0 ? `${image.width} x ${image.height} = ${image.width * image.height} values` : 'width > 0, height > 0',
      found: `${image?.data?.length ?? 'no'} values`,
    });
  }
  if (image.data instanceof Float32Array) {
    // NaN would flow through the graphs as NaN probabilities; a corrupt image should fail by name instead.
    const bad = image.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new DataError('Image holds non-finite pixels', { row: index + 1, field: 'image', expected: 'finite values', found: `${image.data[bad]} at pixel ${bad}` });
    }
  }
  if ('maxValue' in image && typeof image.maxValue === 'number') return image;
  const maxValue = image.data instanceof Uint8Array ? 255 : image.data instanceof Uint16Array ? 65535 : 1;
  return { ...image, maxValue };
}

/** Rows `rows` of a [B, ...] tensor as a new [rows.length, ...] tensor. */
function gatherRows(t: TensorData, rows: number[]): TensorData {
  const per = t.data.length / t.dims[0]!;
  const data = new Float32Array(rows.length * per);
  rows.forEach((r, i) => data.set(t.data.subarray(r * per, (r + 1) * per), i * per));
  return { data, dims: [rows.length, ...t.dims.slice(1)] };
}

