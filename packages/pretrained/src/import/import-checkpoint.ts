import {
  CHESTXRAY14_CLASSES,
  ConfigError,
  DataError,
  parseConfig,
  sha256Hex,
  tf,
  z,
  SeedSchema,
} from '@multichexnet/core';
import { createEncoder, type Encoder } from '@multichexnet/core-encoder';
import { resolvePreprocessConfig, type PreprocessConfig } from '@multichexnet/data';
import { createClsHead, type ClsHead } from '@multichexnet/head-cls';
import { readCheckpoint } from '../checkpoint/read-checkpoint';
import type { CheckpointTensor } from '../checkpoint/state-dict';
import { DENSENET121_FEATURES, denseNet121Keys, undotLayerKey, type ExpectedTensor } from '../layouts/densenet-keys';
import {
  FOLDED_MEAN,
  FOLDED_STD,
  IMAGENET_MEAN,
  IMAGENET_STD,
  LAYOUTS,
  PRETRAINED_LAYOUTS,
  type PretrainedLayout,
} from '../layouts/layouts';
import { foldStem } from './fold-stem';

/** Options of {@link importCheckpoint}. */
export const ImportOptionsSchema = z
  .object({
    /** Which key layout the checkpoint uses. */
    layout: z.enum(PRETRAINED_LAYOUTS),
    /**
     * Input channels of the imported encoder: 1 (default; a 3-channel RGB stem is folded to grey, see `foldStem`) or
     * 3 (the stem kept as is; the preprocessing then repeats the grey film as RGB with per-channel statistics).
     */
    inputChannels: z.union([z.literal(1), z.literal(3)]).default(1),
    /** Names of the classifier's outputs in order ('' = an output to drop); default the layout's own list. */
    classes: z.array(z.string()).min(1).optional(),
    /** Seed of a new CheXCls when the checkpoint has no usable classifier (an ImageNet head). */
    seed: SeedSchema.default(0),
  })
  .strict();
/** What a caller passes to {@link importCheckpoint}. */
export type ImportOptions = z.input<typeof ImportOptionsSchema>;

/** Where an imported model came from and what the import did: recorded with it. */
export interface PretrainedProvenance {
  layout: PretrainedLayout;
  /** The checkpoint as named by the caller (path or URL). */
  file: string;
  format: 'torch-zip' | 'safetensors';
  /** SHA-256 of the checkpoint's bytes. */
  sha256: string;
  /** Input channels of the checkpoint's stem, and of the imported encoder. */
  stemChannels: number;
  inputChannels: 1 | 3;
  /** Whether an RGB stem was folded to grey. */
  folded: boolean;
  /**
   * `imported`: the checkpoint's classifier became CheXCls; `new`: it had none usable (ImageNet), CheXCls is untrained.
   */
  classifier: 'imported' | 'new';
  /** The checkpoint's output names in its order, and the ones dropped ('' outputs). */
  sourceClasses: string[];
  droppedOutputs: number[];
  /** The source's preprocessing in words (the executable form is `preprocess`). */
  preprocessNote: string;
}

/** A checkpoint imported into CheXEnc (`densenet121`) + CheXCls, with the preprocessing its weights expect. */
export interface ImportedModel {
  encoder: Encoder;
  cls: ClsHead;
  /** The preprocessing of the source (size, crop, channels, normalisation), as `@multichexnet/data` applies it. */
  preprocess: PreprocessConfig;
  /**
   * Per-class decision thresholds the source publishes (torchxrayvision's `op_threshs`: a finding is positive when its
   * probability reaches the threshold, what its `op_norm` maps to 0.5), by class name; null when it has none.
   */
  thresholds: Record<string, number> | null;
  provenance: PretrainedProvenance;
  /** Disposes both blocks. */
  dispose(): void;
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** OIHW (PyTorch) -> HWIO (tfjs). */
function oihwToHwio(v: Float32Array, [O, I, H, W]: readonly number[]): Float32Array {
  const out = new Float32Array(v.length);
  for (let o = 0; o < O!; o++)
    for (let i = 0; i < I!; i++)
      for (let h = 0; h < H!; h++)
        for (let w = 0; w < W!; w++) out[((h * W! + w) * I! + i) * O! + o] = v[((o * I! + i) * H! + h) * W! + w]!;
  return out;
}

interface Sorted {
  features: Map<string, CheckpointTensor>;
  classifier: { weight?: CheckpointTensor; bias?: CheckpointTensor };
  opThreshs: CheckpointTensor | null;
}

/** Keys of the file, prefix stripped and old dotted names undone, checked one by one against DenseNet-121. */
function sortKeys(
  stateDict: Map<string, CheckpointTensor>,
  layout: PretrainedLayout,
  file: string,
): { sorted: Sorted; stemChannels: number } {
  const spec = LAYOUTS[layout];
  const keys = [...stateDict.keys()].filter((k) => !k.endsWith('num_batches_tracked'));
  if (keys.length === 0)
    throw new DataError('Checkpoint holds no tensors', {
      file,
      expected: `a DenseNet-121 ${layout} state_dict`,
      found: 'none',
    });
  const prefix = spec.prefixes.find((p) => keys[0]!.startsWith(p)) ?? spec.prefixes[0]!;
  const conv0 = stateDict.get(`${prefix}features.conv0.weight`);
  const stemChannels = conv0?.shape[1] ?? (layout === 'torchxrayvision' ? 1 : 3);
  const expected = denseNet121Keys(stemChannels);
  const byKey = new Map(expected.map((e) => [e.key, e]));
  const seen = new Set<string>();
  const sorted: Sorted = { features: new Map(), classifier: {}, opThreshs: null };
  const misfit = (key: string, t: CheckpointTensor, expectedText: string): DataError =>
    new DataError(`Checkpoint does not fit a DenseNet-121 ${layout} state_dict`, {
      file,
      field: key,
      expected: expectedText,
      found: `${key} ${shapeText(t.shape)}`,
    });
  const next = (): string => {
    const e = expected.find((x) => !seen.has(x.key));
    return e === undefined ? 'no further tensor' : `${prefix}${e.key} ${shapeText(e.shape)}`;
  };
  for (const key of keys) {
    const t = stateDict.get(key)!;
    if (!key.startsWith(prefix))
      throw misfit(key, t, `keys starting "${prefix}" (${spec.description}); next ${next()}`);
    const canonical = undotLayerKey(key.slice(prefix.length));
    const head = spec.classifierKeys.find((c) => canonical === `${c}.weight` || canonical === `${c}.bias`);
    if (head !== undefined) {
      const part = canonical.endsWith('.weight') ? 'weight' : 'bias';
      const ok = part === 'weight' ? t.shape.length === 2 && t.shape[1] === DENSENET121_FEATURES : t.shape.length === 1;
      if (!ok)
        throw misfit(
          key,
          t,
          part === 'weight' ? `a classifier weight [outputs, ${DENSENET121_FEATURES}]` : 'a classifier bias [outputs]',
        );
      sorted.classifier[part] = t;
      continue;
    }
    if (canonical === 'op_threshs' && spec.opThreshs) {
      sorted.opThreshs = t;
      continue;
    }
    const e = byKey.get(canonical);
    if (e === undefined) throw misfit(key, t, `a DenseNet-121 key; next ${next()}`);
    if (shapeText(e.shape) !== shapeText(t.shape)) throw misfit(key, t, `${key} ${shapeText(e.shape)}`);
    seen.add(e.key);
    sorted.features.set(e.key, t);
  }
  const missing = expected.filter((e) => !seen.has(e.key));
  if (missing.length > 0) {
    throw new DataError(`Checkpoint does not fit a DenseNet-121 ${layout} state_dict: tensors missing`, {
      file,
      field: `${prefix}${missing[0]!.key}`,
      expected: `${expected.length} DenseNet-121 feature tensors`,
      found: `${missing.length} missing, first ${prefix}${missing[0]!.key} ${shapeText(missing[0]!.shape)}`,
    });
  }
  const { weight, bias } = sorted.classifier;
  if ((weight === undefined) !== (bias === undefined) || (weight !== undefined && weight.shape[0] !== bias!.shape[0])) {
    throw new DataError(
      `Checkpoint does not fit a DenseNet-121 ${layout} state_dict: classifier weight and bias disagree`,
      {
        file,
        field: 'classifier',
        expected: 'weight [n, 1024] and bias [n]',
        found: `${weight ? shapeText(weight.shape) : 'no weight'}, ${bias ? shapeText(bias.shape) : 'no bias'}`,
      },
    );
  }
  if (stemChannels !== 1 && stemChannels !== 3)
    throw misfit(`${prefix}features.conv0.weight`, conv0!, 'a stem of 1 or 3 input channels');
  return { sorted, stemChannels };
}

/**
 * The head's class order: the ChestX-ray14 classes the source has (in our order), then its other outputs (in its
 * order).
 */
function headClasses(source: readonly string[]): { classes: string[]; rows: number[]; dropped: number[] } {
  const ours = CHESTXRAY14_CLASSES.filter((c) => source.includes(c));
  const extra = source.filter((c) => c !== '' && !(CHESTXRAY14_CLASSES as readonly string[]).includes(c));
  const classes = [...ours, ...extra];
  return {
    classes,
    rows: classes.map((c) => source.indexOf(c)),
    dropped: source.flatMap((c, i) => (c === '' ? [i] : [])),
  };
}

function writeVariable(variables: Map<string, tf.LayerVariable>, name: string, values: Float32Array): void {
  const v = variables.get(name);
  if (v === undefined)
    throw new DataError('Imported weight has no place in the block', {
      field: name,
      expected: 'a weight of CheXEnc / CheXCls',
      found: 'none',
    });
  const t = tf.tensor(values, v.shape as number[], 'float32');
  v.write(t);
  t.dispose();
}

/**
 * Imports a DenseNet-121 checkpoint (a `torch.save` zip or a safetensors file) of one of the known layouts into
 * CheXEnc (`preset: 'densenet121'`) + CheXCls, with the source's preprocessing and operating points. Every key is
 * checked: a checkpoint of another architecture (ResNet-50, DenseNet-169), a truncated file or a safetensors file
 * whose header lies fails with one line naming the file, the first key or shape that does not fit and what was
 * expected.
 *
 * @example
 * const m = await importCheckpoint(await readFile('densenet121-res224-all.safetensors'), { layout: 'torchxrayvision', file: 'densenet121-res224-all.safetensors' });
 * m.cls.config.classes;        // the 14 ChestX-ray14 classes it has, then 'Lung Lesion', 'Fracture', ...
 * m.preprocess.mean;           // 0.5 with std 1/2048: values in [-1024, 1024], as torchxrayvision feeds them
 */
export async function importCheckpoint(
  bytes: Uint8Array,
  options: ImportOptions & { file?: string },
): Promise<ImportedModel> {
  const { file = 'checkpoint', ...rest } = options;
  const opts = parseConfig(ImportOptionsSchema, rest, 'import options');
  const spec = LAYOUTS[opts.layout];
  const { stateDict, source } = readCheckpoint(bytes, file);
  const { sorted, stemChannels } = sortKeys(stateDict, opts.layout, file);
  if (stemChannels === 1 && opts.inputChannels === 3) {
    throw new ConfigError('import options', [
      { path: 'inputChannels', rule: `must be 1: the stem of ${file} reads one channel`, received: '3' },
    ]);
  }
  const outputs = sorted.classifier.weight?.shape[0] ?? 0;
  const sourceClasses = outputs === 0 ? [] : (opts.classes ?? spec.defaultClasses(outputs));
  if (sourceClasses !== null && sourceClasses.length !== outputs && outputs > 0) {
    throw new ConfigError('import options', [
      {
        path: 'classes',
        rule: `must name the ${outputs} outputs of the classifier of ${file}`,
        received: `${sourceClasses.length} names`,
      },
    ]);
  }
  if (sourceClasses === null && outputs !== 1000) {
    throw new ConfigError('import options', [
      {
        path: 'classes',
        rule: `must name the ${outputs} outputs of the classifier of ${file} ('' for one to drop)`,
        received: 'none',
      },
    ]);
  }
  const imported = sourceClasses !== null && outputs > 0;
  const { classes, rows, dropped } = imported
    ? headClasses(sourceClasses)
    : { classes: [...CHESTXRAY14_CLASSES], rows: [], dropped: [] };
  if (classes.length === 0)
    throw new ConfigError('import options', [
      { path: 'classes', rule: 'must name at least one output', received: JSON.stringify(sourceClasses) },
    ]);
  const folded = stemChannels === 3 && opts.inputChannels === 1;

  const encoder = createEncoder({ preset: 'densenet121', inputChannels: opts.inputChannels, seed: opts.seed });
  const cls = createClsHead({ classes, featureChannels: encoder.featureChannels, seed: opts.seed });
  try {
    const prefix = `${encoder.config.name}_`;
    const encVars = new Map(encoder.namedWeights().map((w) => [w.name, w.variable]));
    let stem: { kernel: Float32Array; shape: number[]; runningMean: Float32Array } | null = null;
    if (folded) {
      stem = foldStem(
        sorted.features.get('features.conv0.weight')!.values(),
        [64, 3, 7, 7],
        sorted.features.get('features.norm0.running_mean')!.values(),
        IMAGENET_MEAN,
        IMAGENET_STD,
        FOLDED_MEAN,
        FOLDED_STD,
      );
    }
    for (const e of denseNet121Keys(stemChannels) as ExpectedTensor[]) {
      let values = sorted.features.get(e.key)!.values();
      let shape = e.shape;
      if (stem !== null && e.key === 'features.conv0.weight') [values, shape] = [stem.kernel, stem.shape];
      if (stem !== null && e.key === 'features.norm0.running_mean') values = stem.runningMean;
      writeVariable(encVars, `${prefix}${e.ours}`, e.kind === 'conv' ? oihwToHwio(values, shape) : values);
    }
    if (imported) {
      const w = sorted.classifier.weight!.values();
      const b = sorted.classifier.bias!.values();
      const C = classes.length;
      const kernel = new Float32Array(DENSENET121_FEATURES * C);
      const bias = new Float32Array(C);
      rows.forEach((r, j) => {
        for (let i = 0; i < DENSENET121_FEATURES; i++) kernel[i * C + j] = w[r * DENSENET121_FEATURES + i]!;
        bias[j] = b[r]!;
      });
      const clsVars = new Map(cls.namedWeights().map((x) => [x.name, x.variable]));
      writeVariable(clsVars, `${cls.config.name}_logits/kernel`, kernel);
      writeVariable(clsVars, `${cls.config.name}_logits/bias`, bias);
    }
    let thresholds: Record<string, number> | null = null;
    if (sorted.opThreshs !== null && imported) {
      const op = sorted.opThreshs.values();
      if (op.length !== outputs)
        throw new DataError('op_threshs does not hold one threshold per output', {
          file,
          field: 'op_threshs',
          expected: `${outputs} values`,
          found: `${op.length}`,
        });
      thresholds = {};
      classes.forEach((c, j) => {
        const t = op[rows[j]!]!;
        if (Number.isFinite(t) && t > 0 && t < 1) thresholds![c] = t;
      });
    }
    return {
      encoder,
      cls,
      preprocess: resolvePreprocessConfig(spec.preprocess(opts.inputChannels)),
      thresholds,
      provenance: {
        layout: opts.layout,
        file,
        format: source.format,
        sha256: await sha256Hex(bytes),
        stemChannels,
        inputChannels: opts.inputChannels,
        folded,
        classifier: imported ? 'imported' : 'new',
        sourceClasses: imported ? [...sourceClasses] : [],
        droppedOutputs: dropped,
        preprocessNote: spec.preprocessNote,
      },
      dispose() {
        encoder.dispose();
        cls.dispose();
      },
    };
  } catch (e) {
    encoder.dispose();
    cls.dispose();
    throw e;
  }
}
