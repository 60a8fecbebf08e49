import { DataError, parseConfig, z, type GrayImage, type TaskDecoder } from '@multichexnet/core/base';
import {
  preprocessImage,
  type DecodedImage,
  type FitTransform,
  type PreprocessConfig,
} from '@multichexnet/data/decode';
import { loadModel, type OnnxModel } from '../model/load-model';
import type { ModelMetadata } from '../model/metadata';
import { nodeFs, nodePath } from '../model/node-only';
import { resolveBackend } from '../model/ort-session';
import { runModel, type TensorData } from '../model/run-model';
import {
  decideGate,
  decodeWith,
  inputSizeOf,
  taskDecoding,
  withOod,
  type DecodedOutputs,
  type TaskDecoding,
} from './decode-outputs';
import { PIPELINE_FILES } from '../model/pipeline-files';
import { CamOptionsSchema, camClassesOf, decodeCams, type ClassActivationMap } from './cam';
import { OodPolicySchema, checkOodPolicy, isRefused, refusedOutputs } from './ood-policy';

/**
 * Where the pipeline's graphs come from: a run folder (path in Node, URL anywhere; the two-stage files when present,
 * else `model.onnx`), a `.onnx` file, the two stages as bytes/paths/URLs, or one single graph (`{ model }`, role
 * `model`: every head runs on every image and the gate only decides which results are decoded).
 */
export type PipelineModelSource =
  string | { stage1: Uint8Array | string; stage2?: Uint8Array | string | null } | { model: Uint8Array | string };

/** Options of {@link createPipeline} besides the model. */
export const PipelineOptionsSchema = z
  .object({
    /** onnxruntime-node (`node`), onnxruntime-web (`web`), or `auto` (node in Node, web in browsers). */
    backend: z.enum(['auto', 'node', 'web']).default('auto'),
    /** Intra-op threads (wasm threads for `web`). */
    threads: z.number().int().positive().optional(),
    /** `web` only: where onnxruntime-web fetches its .wasm files (a URL prefix), when not next to the bundle. */
    wasmPaths: z.string().optional(),
    /**
     * onnxruntime execution providers in preference order, e.g. `['webgpu']` for `web` (default: `cpu` for node,
     * `wasm` for web). A provider the runtime cannot open fails the load, so callers can fall back themselves.
     */
    executionProviders: z.array(z.string().min(1)).min(1).optional(),
    /** `enabled: false` runs the routed tasks (det / seg style) on every image (ungated); `threshold` overrides the model's. */
    gate: z
      .object({ enabled: z.boolean().default(true), threshold: z.number().min(0).max(1).optional() })
      .strict()
      .prefault({}),
    /**
     * Per task overrides of the decision settings the model recorded, checked by the task's decoder, e.g.
     * `{ det: { scoreThreshold: 0.4 }, seg: { threshold: 0.6, minArea: 40 }, cls: { thresholds: { Pneumonia: 0.3 } } }`.
     */
    decode: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Images per stage-1 run in {@link Pipeline.runBatch}. */
    batchSize: z.number().int().positive().default(16),
    /** Class activation maps of models exported with them: the findings' (default) and any classes named. */
    cam: CamOptionsSchema.prefault({}),
    /**
     * Out-of-distribution images (pipeline/ood.ts): `refuse` (default when the model records OOD statistics: no
     * findings, `refused: true`), `flag` (findings kept, `ood.outOfDistribution` says it), `off` (not checked).
     * `refuse` or `flag` with a model without OOD statistics is an error.
     */
    ood: OodPolicySchema.optional(),
    /** Overrides the OOD threshold the model recorded. */
    oodThreshold: z.number().positive().optional(),
  })
  .strict();
export type PipelineOptions = z.input<typeof PipelineOptionsSchema> & {
  /** Decoders of tasks outside the built-in table (a user's own heads, from their package's decoder). */
  decoders?: readonly TaskDecoder[];
};

/** Milliseconds spent per step; batch steps are shared evenly among the images of the batch that took them. */
export interface PipelineTimings {
  preprocessMs: number;
  /** Encoder + the unrouted tasks + gate. */
  stage1Ms: number;
  /** The routed tasks on the cached features (0 for images the gate stopped). */
  stage2Ms: number;
  decodeMs: number;
  totalMs: number;
}

/** One image's result: its decoded outputs (see {@link decodeOutputs}) and where the time went. */
export interface PipelineResult extends DecodedOutputs {
  timings: PipelineTimings;
  /** Class activation maps by class name (models exported with `cam: true`): the findings and `cam.classes`. */
  cams?: Record<string, ClassActivationMap>;
  /** true when the image was refused as out of distribution (pipeline option `ood: 'refuse'`): no findings. */
  refused?: boolean;
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

type ResolvedSources =
  { stage1: Uint8Array | string; stage2: Uint8Array | string | null } | { model: Uint8Array | string };

async function exists(target: string, isUrl: boolean): Promise<boolean> {
  if (isUrl) {
    const head = await fetch(target, { method: 'HEAD' }).catch(() => null);
    return head !== null && head.ok;
  }
  const { access } = await nodeFs();
  return access(target).then(
    () => true,
    () => false,
  );
}

async function resolveSources(model: PipelineModelSource): Promise<ResolvedSources> {
  if (typeof model !== 'string')
    return 'model' in model ? { model: model.model } : { stage1: model.stage1, stage2: model.stage2 ?? null };
  if (model.endsWith('.onnx')) return { model };
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  const isUrl = !isNode || /^https?:\/\//.test(model);
  const join = isUrl ? (a: string, b: string) => `${a.endsWith('/') ? a : `${a}/`}${b}` : (await nodePath()).join;
  const stage1 = join(model, PIPELINE_FILES.stage1);
  if (!(await exists(stage1, isUrl))) return { model: join(model, PIPELINE_FILES.model) };
  const stage2 = join(model, PIPELINE_FILES.stage2);
  return { stage1, stage2: (await exists(stage2, isUrl)) ? stage2 : null };
}

/**
 * Loads the two graphs written by {@link exportPipeline} and returns the gated inference pipeline: each image is
 * preprocessed as in training (from the model's metadata), the encoder + the unrouted tasks (CheXCls) + the gate run
 * once, and only images the gate passes go through the routed tasks (CheXDet, CheXSeg), which read the cached encoder
 * features of stage 1 (no second encoder pass). Any subset of the task table runs: each task present is decoded by
 * its task's decoder (`decoders` for tasks outside the built-in table), and only those.
 *
 * @example
 * const pipe = await createPipeline({ model: 'runs/exp1' });
 * const result = await pipe.run(decodedImage);
 * result.probabilities?.Pneumothorax; result.gate.positive; result.boxes; result.mask;
 * await pipe.dispose();
 */
export async function createPipeline(args: { model: PipelineModelSource } & PipelineOptions): Promise<Pipeline> {
  const { model, decoders, ...rest } = args;
  const opts = parseConfig(PipelineOptionsSchema, rest, 'pipeline options');
  const sources = await resolveSources(model);
  const load = {
    backend: resolveBackend(opts.backend),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.wasmPaths !== undefined ? { wasmPaths: opts.wasmPaths } : {}),
    ...(opts.executionProviders !== undefined ? { executionProviders: opts.executionProviders } : {}),
  };
  const single = 'model' in sources;
  const stage1 = await loadModel(single ? sources.model : sources.stage1, load);
  let stage2: OnnxModel | null = null;
  try {
    const role = stage1.metadata.role;
    // A `.onnx` path may name either kind of graph: a stage 1 alone runs cls + gate only.
    if (single ? role !== 'model' && role !== 'stage1' : role !== 'stage1') {
      throw new DataError('Pipeline model has the wrong role', {
        file: stage1.source,
        field: 'multichexnet.role',
        expected: single ? 'model or stage1' : 'stage1',
        found: role,
      });
    }
    if (stage1.metadata.preprocessing === null) {
      throw new DataError('Pipeline model lacks its preprocessing', {
        file: stage1.source,
        field: 'multichexnet.preprocessing',
        expected: 'a preprocessing spec',
        found: 'null',
      });
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
  try {
    return new GatedPipeline(stage1, stage2, opts, decoders ?? []);
  } catch (e) {
    await stage1.dispose();
    await stage2?.dispose();
    throw e;
  }
}

type ResolvedOptions = z.output<typeof PipelineOptionsSchema>;

class GatedPipeline implements Pipeline {
  readonly metadata: ModelMetadata;
  private readonly preprocess: PreprocessConfig;
  private readonly channels: number;
  private readonly featureNames: string[];
  private readonly gateThreshold: number;
  /** The decoders of the model's tasks with their settings, resolved once. */
  private readonly decoding: TaskDecoding[];
  private readonly inputSize: { width: number; height: number };
  /** [cam] classes whose maps every result carries; null: the model has no maps. */
  private readonly camClasses: string[] | null;

  constructor(
    private readonly stage1: OnnxModel,
    private readonly stage2: OnnxModel | null,
    private readonly opts: ResolvedOptions,
    decoders: readonly TaskDecoder[],
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
    this.camClasses = camClassesOf(this.metadata, opts.cam, stage1.source);
    checkOodPolicy(this.metadata, opts.ood, stage1.source); // OOD refusal (./ood-policy.ts)
    const gate = this.metadata.gate;
    // Stage 1's metadata with stage 2's outputs: the tasks of both graphs, decoded as one model.
    const merged: ModelMetadata =
      stage2 === null
        ? this.metadata
        : {
            ...this.metadata,
            outputs: [...this.metadata.outputs, ...stage2.metadata.outputs],
            decode: { ...this.metadata.decode, ...stage2.metadata.decode },
            ...(stage2.metadata.tasks !== undefined ? { tasks: stage2.metadata.tasks } : {}),
          };
    this.decoding = taskDecoding(merged, opts.decode, decoders);
    this.inputSize = inputSizeOf(merged);
    this.gateThreshold = opts.gate.threshold ?? gate?.threshold ?? 0.5;
    // a model without a gate is fine when there is nothing to gate (a classifier alone); with a routed task it is not
    const routed = this.decoding.filter((d) => d.decoder.routed).map((d) => d.decoder.task);
    if (gate === null && opts.gate.enabled && routed.length > 0) {
      throw new DataError(
        `Model has no gate for its routed tasks (${routed.join(', ')}); create the pipeline with gate: { enabled: false }`,
        { file: stage1.source, field: 'multichexnet.gate', expected: 'a gate spec', found: 'null' },
      );
    }
  }

  async run(image: GrayImage | DecodedImage): Promise<PipelineResult> {
    return (await this.runBatch([image]))[0]!;
  }

  async runBatch(images: readonly (GrayImage | DecodedImage)[]): Promise<PipelineResult[]> {
    const out: PipelineResult[] = [];
    for (let i = 0; i < images.length; i += this.opts.batchSize)
      out.push(...(await this.runChunk(images.slice(i, i + this.opts.batchSize))));
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
      // The preprocessing gives every channel itself (`channels`: per-channel normalisation); a grey input for a
      // wider image input is repeated across its channels.
      if (input.length === per) batch.set(input, b * per);
      else for (let i = 0; i < S * S; i++) batch.fill(input[i]!, b * per + i * C, b * per + (i + 1) * C);
      transforms.push(transform);
      return now() - t;
    });

    let t = now();
    const s1 = await runModel(this.stage1, { image: { data: batch, dims: [B, S, S, C] } });
    const stage1Ms = (now() - t) / B;

    const gateOptions = { enabled: this.opts.gate.enabled, threshold: this.gateThreshold };
    const gates = images.map((_, b) => decideGate(s1, this.metadata, b, gateOptions));
    // OOD refusal (./ood-policy.ts): a refused image goes no further than stage 1
    const refused = images.map((_, b) => isRefused(s1, this.metadata, b, this.opts));
    const positives = gates.flatMap((g, b) => (g.positive && !refused[b] ? [b] : []));

    let s2: Record<string, TensorData> | null = null;
    let stage2Ms = 0;
    if (this.stage2 !== null && positives.length > 0) {
      t = now();
      const feeds: Record<string, TensorData> = {};
      for (const name of this.featureNames) feeds[name] = gatherRows(s1, name, positives);
      s2 = await runModel(this.stage2, feeds);
      stage2Ms = (now() - t) / positives.length;
    }

    const single = this.metadata.role === 'model';
    return images.map((_, b) => {
      const td = now();
      // Image b is row b of the single graph's outputs; in the two-stage case its det/seg rows sit at its position
      // among the positives in stage 2's outputs, so its view is assembled from both.
      const row = positives.indexOf(b);
      const outputs = single ? s1 : { ...rowView(s1, b), ...(s2 !== null && row >= 0 ? rowView(s2, row) : {}) };
      // OOD refusal (./ood-policy.ts): a refused image gets no findings and no maps
      const decoded = refused[b]
        ? refusedOutputs(this.decoding, gates[b]!)
        : decodeWith(this.decoding, outputs, gates[b]!, {
            index: single ? b : 0,
            transform: transforms[b]!,
            inputSize: this.inputSize,
          });
      if (this.opts.ood !== 'off') withOod(decoded, outputs, this.metadata, single ? b : 0, this.opts.oodThreshold);
      // [cam] the maps of the findings and of the classes asked for (./cam.ts)
      const camClasses =
        this.camClasses === null || refused[b]
          ? null
          : [...this.camClasses, ...(this.opts.cam.findings ? (decoded.findings ?? []) : [])];
      const cams =
        camClasses === null
          ? {}
          : {
              cams: decodeCams(outputs, this.metadata, {
                transform: transforms[b]!,
                classes: camClasses,
                index: single ? b : 0,
              }),
            };
      const decodeMs = now() - td;
      const timings: PipelineTimings = {
        preprocessMs: preMs[b]!,
        stage1Ms,
        stage2Ms: row >= 0 && !single ? stage2Ms : 0,
        decodeMs,
        totalMs: 0,
      };
      timings.totalMs = timings.preprocessMs + timings.stage1Ms + timings.stage2Ms + timings.decodeMs;
      return { ...decoded, ...cams, timings };
    });
  }

  async dispose(): Promise<void> {
    await this.stage1.dispose();
    await this.stage2?.dispose();
  }
}

/** A GrayImage with the `maxValue` its sample type implies, unless it says its own. */
function asDecoded(image: GrayImage | DecodedImage, index: number): DecodedImage {
  if (
    image === null ||
    typeof image !== 'object' ||
    !(image.width > 0 && image.height > 0) ||
    image.data?.length !== image.width * image.height
  ) {
    throw new DataError('Image data does not match its size', {
      row: index + 1,
      field: 'image',
      expected:
        image && image.width > 0 && image.height > 0
          ? `${image.width} x ${image.height} = ${image.width * image.height} values`
          : 'width > 0, height > 0',
      found: `${image?.data?.length ?? 'no'} values`,
    });
  }
  if (image.data instanceof Float32Array) {
    // NaN would flow through the graphs as NaN probabilities; a corrupt image should fail by name instead.
    const bad = image.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new DataError('Image holds non-finite pixels', {
        row: index + 1,
        field: 'image',
        expected: 'finite values',
        found: `${image.data[bad]} at pixel ${bad}`,
      });
    }
  }
  if ('maxValue' in image && typeof image.maxValue === 'number') return image;
  const maxValue = image.data instanceof Uint8Array ? 255 : image.data instanceof Uint16Array ? 65535 : 1;
  return { ...image, maxValue };
}

/** Rows `rows` of output `name` [B, ...] as a new [rows.length, ...] tensor. */
function gatherRows(outputs: Record<string, TensorData>, name: string, rows: number[]): TensorData {
  const t = outputs[name]!;
  const per = t.data.length / t.dims[0]!;
  const data = new Float32Array(rows.length * per);
  rows.forEach((r, i) => data.set(t.data.subarray(r * per, (r + 1) * per), i * per));
  return { data, dims: [rows.length, ...t.dims.slice(1)] };
}

/** Row r of every output [B, ...], as [1, ...] views (no copy). */
function rowView(outputs: Record<string, TensorData>, r: number): Record<string, TensorData> {
  const view: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(outputs)) {
    const per = t.data.length / t.dims[0]!;
    view[name] = { data: t.data.subarray(r * per, (r + 1) * per), dims: [1, ...t.dims.slice(1)] };
  }
  return view;
}
