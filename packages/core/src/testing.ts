// `@multichexnet/core/testing`: the test helpers every block package shares (heads, gate, encoder, and a new head
// written outside this repository): seeded stand-ins for encoder features, a finite-difference gradient check and a
// few optimiser steps that report the loss curve and the tensors they leave behind. No test framework is imported:
// the helpers return numbers and the caller's test asserts on them.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FEATURE_STRIDES, type Block, type EncoderFeatures, type FeatureChannels, type Head } from './blocks/block';
import { deserializeBlock, serializeBlock } from './registry';
import { createRng } from './rng';
import { tf } from './tf';
import { encodeBlockWeights, loadBlock, loadBlockFromBytes, saveBlockWeights } from './weights';

/** Narrow feature widths for fast head tests (a real encoder has hundreds of channels per level). */
export const SMALL_FEATURE_CHANNELS: Readonly<FeatureChannels> = Object.freeze({ c2: 4, c3: 6, c4: 8, c5: 12 });

export interface RandomFeaturesOptions {
  /** Feature widths per level (default {@link SMALL_FEATURE_CHANNELS}). */
  channels?: FeatureChannels;
  /** Clamp at 0, as post-ReLU features are (default false: standard normal values). */
  nonNegative?: boolean;
}

/**
 * Seeded standard-normal encoder features for `batch` images of `size` px: c2..c5 at strides 4..32, drawn from one
 * RNG stream level by level (c2 first). `size` must be a multiple of 32.
 */
export function randomFeatures(
  batch: number,
  size: number,
  seed: number | string,
  options: RandomFeaturesOptions = {},
): EncoderFeatures {
  const channels = options.channels ?? SMALL_FEATURE_CHANNELS;
  const rng = createRng(seed);
  const draw = options.nonNegative === true ? () => Math.max(0, rng.normal()) : () => rng.normal();
  const make = (level: keyof FeatureChannels): tf.Tensor4D => {
    const s = size / FEATURE_STRIDES[level];
    const c = channels[level];
    return tf.tensor4d(Float32Array.from({ length: batch * s * s * c }, draw), [batch, s, s, c]);
  };
  return { c2: make('c2'), c3: make('c3'), c4: make('c4'), c5: make('c5') };
}

/** Disposes the four tensors of a feature set. */
export function disposeFeatures(features: EncoderFeatures): void {
  tf.dispose([features.c2, features.c3, features.c4, features.c5]);
}

/** Max |a - b| over two equally long arrays (Infinity when lengths differ, NaN-safe: NaN vs NaN counts as 0). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = Math.abs(x - y);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Mean |a - b| over two equally long arrays (Infinity when lengths differ). */
export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** A seeded normal tensor of the given shape (mean 0, standard deviation `std`). */
export function randomTensor(shape: number[], seed: number | string, std = 1): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal(0, std)),
    shape,
  );
}

/**
 * Central finite differences of a scalar function of one tensor, every entry, compared with `tf.grad`. Returns the
 * largest |analytic - numeric| / (1 + |numeric|); leaves no tensor behind.
 */
export function maxGradError(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-2): number {
  const analytic = tf.tidy(() => tf.grad(f)(x));
  const a = analytic.dataSync();
  analytic.dispose();
  const base = x.dataSync().slice();
  const at = (i: number, delta: number): number =>
    tf.tidy(() => {
      const v = base.slice();
      v[i]! += delta;
      return f(tf.tensor(v, x.shape)).dataSync()[0]!;
    });
  let worst = 0;
  for (let i = 0; i < base.length; i++) {
    const numeric = (at(i, eps) - at(i, -eps)) / (2 * eps);
    worst = Math.max(worst, Math.abs(a[i]! - numeric) / (1 + Math.abs(numeric)));
  }
  return worst;
}

export interface AdamStepsOptions {
  /** The scalar loss of one step, built inside the optimiser's gradient tape. */
  loss: () => tf.Scalar;
  steps: number;
  /** Default 0.01. */
  learningRate?: number;
  /** The variables to train (default: every trainable variable). */
  varList?: tf.Variable[];
}

/**
 * `steps` Adam steps on `loss`. Returns the loss of every step and `leaked`: tensors alive after the last step minus
 * those alive after the first (the optimiser creates its slots at step 1, so a leak-free step loop gives 0).
 */
export function adamSteps(options: AdamStepsOptions): { losses: number[]; leaked: number } {
  const optimizer = tf.train.adam(options.learningRate ?? 0.01);
  const losses: number[] = [];
  let afterFirst = 0;
  try {
    for (let step = 0; step < options.steps; step++) {
      const cost = optimizer.minimize(options.loss, true, options.varList)!;
      losses.push(cost.dataSync()[0]!);
      cost.dispose();
      if (step === 0) afterFirst = tf.memory().numTensors;
    }
    return { losses, leaked: tf.memory().numTensors - afterFirst };
  } finally {
    optimizer.dispose();
  }
}

type TensorBlock<X> = Block<X, tf.Tensor, unknown>;

/** Each block's output on the same input, as plain values (the outputs are disposed). */
export function outputValues<X>(blocks: readonly Pick<TensorBlock<X>, 'apply'>[], input: X): number[][] {
  return blocks.map((b) => {
    const y = b.apply(input);
    const values = Array.from(y.dataSync());
    y.dispose();
    return values;
  });
}

/**
 * Seed determinism of a block factory: whether two blocks made with `seed` give the same output on `input`, and
 * whether one made with `seed + 1` gives another. The blocks are disposed.
 */
export function seedDeterminism<X>(
  create: (seed: number) => TensorBlock<X>,
  seed: number,
  input: X,
): { sameSeedSame: boolean; otherSeedDiffers: boolean } {
  const blocks = [create(seed), create(seed), create(seed + 1)];
  try {
    const [a, b, c] = outputValues(blocks, input).map((v) => JSON.stringify(v));
    return { sameSeedSame: a === b, otherSeedDiffers: a !== c };
  } finally {
    blocks.forEach((b) => b.dispose());
  }
}

/**
 * The registry and weight-file round trip of a block: its spec through JSON (`configKept`: the rebuilt block has the
 * same config), its weights through a .safetensors file at `file` and through bytes (`fileLoadSame`, `bytesLoadSame`:
 * same output on `input`). The weights are first moved away from their initial values (by `shift`), so that
 * `rebuiltDiffers` (the block rebuilt from its spec alone, fresh weights) shows that the loads did load. Every
 * block made here is disposed; `block` is not.
 */
export async function weightsRoundTrip<X>(
  block: TensorBlock<NoInfer<X>>,
  input: X,
  file: string,
  shift = 0.5,
): Promise<{
  className: string;
  configKept: boolean;
  fileLoadSame: boolean;
  bytesLoadSame: boolean;
  rebuiltDiffers: boolean;
}> {
  const spec = serializeBlock(block);
  const rebuilt = deserializeBlock<TensorBlock<X>>(JSON.parse(JSON.stringify(spec)));
  block.weights.forEach((w) => w.write(tf.tidy(() => tf.add(w.read(), shift))));
  await saveBlockWeights(block, file);
  const loaded = [
    rebuilt,
    await loadBlock<TensorBlock<X>>(file),
    await loadBlockFromBytes<TensorBlock<X>>(await encodeBlockWeights(block)),
  ];
  try {
    const [own, fresh, fromFile, fromBytes] = outputValues([block, ...loaded], input).map((v) => JSON.stringify(v));
    return {
      className: spec.className,
      configKept: JSON.stringify(rebuilt.config) === JSON.stringify(block.config),
      fileLoadSame: fromFile === own,
      bytesLoadSame: fromBytes === own,
      rebuiltDiffers: fresh !== own,
    };
  } finally {
    loaded.forEach((b) => b.dispose());
  }
}

/** What {@link blockContract} checks, each `true` (and the registry name) for a block that keeps the contract. */
export interface BlockContractFacts {
  className: string;
  sameSeedSame: boolean;
  otherSeedDiffers: boolean;
  configKept: boolean;
  fileLoadSame: boolean;
  bytesLoadSame: boolean;
  rebuiltDiffers: boolean;
}

/**
 * The contract every block's tests check, in one call: {@link seedDeterminism} of `create` from `seed` on `input`,
 * then the {@link weightsRoundTrip} of `create(roundTripSeed)` through `file` (weights moved by `shift`). Every block
 * made here is disposed. Compare with {@link blockContractHolds}.
 *
 * @example
 * expect(await blockContract((seed) => createDetHead({ ...config, seed }), features, file)).toEqual(
 *   blockContractHolds(DET_HEAD_CLASS_NAME),
 * );
 */
export async function blockContract<X>(
  create: (seed: number) => TensorBlock<NoInfer<X>>,
  input: X,
  file: string,
  { seed = 3, roundTripSeed = 11, shift = 0.5 }: { seed?: number; roundTripSeed?: number; shift?: number } = {},
): Promise<BlockContractFacts> {
  const determinism = seedDeterminism(create, seed, input);
  const block = create(roundTripSeed);
  try {
    return { ...determinism, ...(await weightsRoundTrip(block, input, file, shift)) };
  } finally {
    block.dispose();
  }
}

/** The facts of {@link blockContract} for a block of registry name `className` that keeps the contract. */
export function blockContractHolds(className: string): BlockContractFacts {
  return {
    className,
    sameSeedSame: true,
    otherSeedDiffers: true,
    configKept: true,
    fileLoadSame: true,
    bytesLoadSame: true,
    rebuiltDiffers: true,
  };
}

/**
 * Tensors left behind by `rounds` rounds of what training and inference do with a head: apply in training mode, the
 * loss, the loss's gradient with respect to the output, decode. 0 for a leak-free head.
 */
export function headLeak<Y extends tf.Tensor, T>(
  head: Head<Y, T, unknown, unknown>,
  features: EncoderFeatures,
  target: T,
  rounds = 2,
): number {
  const before = tf.memory().numTensors;
  for (let i = 0; i < rounds; i++) {
    const out = head.apply(features, { training: true });
    tf.dispose(head.loss(target, out));
    tf.dispose(tf.grad((o: tf.Tensor) => head.loss(target, o as Y))(out));
    head.decode(out);
    out.dispose();
  }
  return tf.memory().numTensors - before;
}

/**
 * Runs a README's example as a user would: the first ```ts block after `after` (a heading such as `## Example`, or a
 * `<!-- example:NAME` marker), written next to the README (so its imports resolve from that package) and imported,
 * with `process.cwd()` at `options.cwd` while it runs. `options.replace` swaps literal text of the code first (a
 * user's file name for one the test made; each must occur). Returns what it printed with `console.log`, one string
 * per call (objects as JSON). The file is removed.
 *
 * @example
 * const lines = await runReadmeExample(new URL('../README.md', import.meta.url), '<!-- example:train');
 */
export async function runReadmeExample(
  readme: URL | string,
  after: string,
  options: { cwd?: string; replace?: Record<string, string> } = {},
): Promise<string[]> {
  const path = typeof readme === 'string' ? readme : fileURLToPath(readme);
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(after);
  const open = text.indexOf('```ts\n', start);
  const close = text.indexOf('\n```', open + 6);
  if (start < 0 || open < 0 || close < 0) throw new Error(`${path} lost the ts code block after "${after}"`);
  let code = text.slice(open + 6, close + 1);
  for (const [from, to] of Object.entries(options.replace ?? {})) {
    if (!code.includes(from)) throw new Error(`${path}: the example after "${after}" no longer contains ${from}`);
    code = code.replaceAll(from, to);
  }
  const file = join(dirname(path), `.readme-example-${process.pid}.ts`);
  writeFileSync(file, code);
  const lines: string[] = [];
  const log = console.log;
  const cwd = process.cwd();
  console.log = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'object' && a !== null ? JSON.stringify(a) : String(a))).join(' '));
  };
  try {
    if (options.cwd !== undefined) process.chdir(options.cwd);
    await import(pathToFileURL(file).href);
  } finally {
    process.chdir(cwd);
    console.log = log;
    rmSync(file, { force: true });
  }
  return lines;
}
