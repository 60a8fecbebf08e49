import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DataError,
  FEATURE_LEVELS,
  createRng,
  deserializeBlock,
  encodeBlockWeights,
  initBackend,
  loadBlock,
  loadBlockFromBytes,
  saveBlockWeights,
  serializeBlock,
  tf,
  type EncoderFeatures,
} from '@multichexnet/core';
import { ENCODER_CLASS_NAME, EncoderConfigSchema, PRESETS, createEncoder, type Encoder } from '../src/index';
import { image } from './images';

/** Random but valid BatchNorm statistics, so that save/load and inference exercise every weight. */
function randomiseStatistics(encoder: Encoder, seed: number): void {
  const rng = createRng(seed);
  for (const w of encoder.weights) {
    if (!/moving_(mean|variance)|gamma|beta/.test(w.name)) continue;
    const n = w.shape.reduce((a, b) => a! * b!, 1)!;
    const isVar = w.name.includes('moving_variance');
    const values = Float32Array.from({ length: n }, () => (isVar ? rng.uniform(0.5, 2) : rng.normal(0, 0.3)));
    const t = tf.tensor(values, w.shape as number[]);
    w.write(t);
    t.dispose();
  }
}

async function allValues(f: EncoderFeatures): Promise<Float32Array[]> {
  return Promise.all(FEATURE_LEVELS.map(async (k) => (await f[k].data()) as Float32Array));
}

function disposeFeatures(f: EncoderFeatures): void {
  for (const k of FEATURE_LEVELS) f[k].dispose();
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('createEncoder: shapes', () => {
  it('gives c2..c5 at strides 4, 8, 16, 32 with featureChannels channels (non-square input)', () => {
    const enc = createEncoder({ preset: 'densenet-tiny', seed: 1 });
    const x = image(1, [2, 64, 96, 1]);
    const f = enc.apply(x);
    expect(f.c2.shape).toEqual([2, 16, 24, enc.featureChannels.c2]);
    expect(f.c3.shape).toEqual([2, 8, 12, enc.featureChannels.c3]);
    expect(f.c4.shape).toEqual([2, 4, 6, enc.featureChannels.c4]);
    expect(f.c5.shape).toEqual([2, 2, 3, enc.featureChannels.c5]);
    disposeFeatures(f);
    x.dispose();
    enc.dispose();
  });

  it('feature channels follow the DenseNet recurrence (growth per layer, floor(compression x C) per transition)', () => {
    const enc = createEncoder({
      preset: 'densenet-tiny',
      initFeatures: 10,
      growthRate: 6,
      blockLayers: [1, 2, 3, 4],
      compression: 0.7,
    });
    // computed by hand from the recurrence: 10+6=16 -> 11; 11+12=23 -> 16; 16+18=34 -> 23; 23+24=47
    expect(enc.featureChannels).toEqual({ c2: 16, c3: 23, c4: 34, c5: 47 });
    const f = tf.tidy(() => enc.apply(tf.zeros([1, 32, 32, 1])));
    expect(f.c2.shape[3]).toBe(16);
    expect(f.c5.shape).toEqual([1, 1, 1, 47]);
    disposeFeatures(f);
    enc.dispose();
  });

  it('features are post-ReLU (non-negative) and finite', async () => {
    const enc = createEncoder({ preset: 'densenet-tiny', seed: 3 });
    randomiseStatistics(enc, 3);
    const f = tf.tidy(() => enc.apply(image(3, [2, 64, 64, 1])));
    for (const v of await allValues(f)) {
      expect(v.every((a) => Number.isFinite(a) && a >= 0)).toBe(true);
      expect(v.some((a) => a > 0)).toBe(true);
    }
    disposeFeatures(f);
    enc.dispose();
  });

  it('refuses NaN or infinite pixels (ReLU and max pooling would silently turn them into plausible features)', () => {
    const enc = createEncoder({ preset: 'densenet-tiny' });
    const x = image(4, [2, 32, 32, 1]);
    const withValueAt = (index: number, value: number): tf.Tensor4D => {
      const v = x.dataSync().slice();
      v[index] = value;
      return tf.tensor4d(v, x.shape);
    };
    const bad = withValueAt(32 * 32 + 1000, Number.NaN);
    const inf = withValueAt(5, Infinity);
    const before = tf.memory().numTensors;
    expect(() => enc.apply(bad)).toThrow(DataError);
    expect(() => enc.apply(bad)).toThrow(/non-finite.*found 1 non-finite value\(s\), first in sample 1/);
    expect(() => enc.apply(inf)).toThrow(/first in sample 0/);
    expect(tf.memory().numTensors).toBe(before);
    for (const t of [x, bad, inf]) t.dispose();
    enc.dispose();
  });

  it('refuses a wrong channel count or a size that is not a multiple of 32, naming both shapes', () => {
    const enc = createEncoder({ preset: 'densenet-tiny' });
    const rgb = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const odd = tf.zeros([1, 64, 50, 1]) as tf.Tensor4D;
    expect(() => enc.apply(rgb)).toThrow(DataError);
    expect(() => enc.apply(rgb)).toThrow(/expected \[B, H, W, 1\], found \[1, 64, 64, 3\]/);
    expect(() => enc.apply(odd)).toThrow(/W a multiple of 32, found \[1, 64, 50, 1\]/);
    rgb.dispose();
    odd.dispose();
    enc.dispose();
  });
});

describe('createEncoder: config', () => {
  it('defaults to densenet-small and resolves every architecture field from the preset table', () => {
    const cfg = EncoderConfigSchema.parse({});
    expect(PRESETS['densenet-small']).toMatchObject({ initFeatures: 16, growthRate: 16, blockLayers: [2, 4, 8, 6] });
    expect(cfg).toEqual({
      preset: 'densenet-small',
      ...PRESETS['densenet-small'],
      seed: 0,
      name: 'encoder',
      inputChannels: 1,
      memoryEfficient: false,
    });
  });

  it('lets single fields override the preset', () => {
    const enc = createEncoder({ preset: 'densenet121', growthRate: 4, blockLayers: [1, 1, 1, 1], initFeatures: 8 });
    expect(enc.config).toMatchObject({
      preset: 'densenet121',
      growthRate: 4,
      blockLayers: [1, 1, 1, 1],
      initFeatures: 8,
      bottleneckWidth: 4,
    });
    enc.dispose();
  });

  it('names field, rule and value of a wrong field', () => {
    const cases: [unknown, RegExp][] = [
      [{ growthRate: -1 }, /growthRate: must be > 0; received -1/],
      [
        { preset: 'resnet50' },
        /preset: must be one of "densenet121", "densenet-small", "densenet-tiny"; received "resnet50"/,
      ],
      [{ blockLayers: [6, 12, 0, 16] }, /blockLayers\.2: must be > 0; received 0/],
      [{ compression: 1.5 }, /compression: must be <= 1; received 1\.5/],
      [{ dropRate: 1 }, /dropRate: must be < 1; received 1/],
      [{ name: 'enc/a' }, /name: must start with a letter.*; received "enc\/a"/],
      [{ growthrate: 8 }, /unknown key\(s\) "growthrate"/],
      [{ memoryEfficient: 'yes' }, /memoryEfficient: .*; received "yes"/],
      [
        { compression: 0.01, preset: 'densenet-tiny' },
        /compression: must leave at least 1 channel after transition 1; received 0\.01/,
      ],
    ];
    for (const [input, message] of cases) {
      const create = () => createEncoder(input as never);
      expect(create, JSON.stringify(input)).toThrow(ConfigError);
      expect(create, JSON.stringify(input)).toThrow(/Invalid encoder config/);
      expect(create, JSON.stringify(input)).toThrow(message);
    }
  });
});

describe('createEncoder: determinism and names', () => {
  it('same seed gives the same weights, another seed other weights', async () => {
    const a = createEncoder({ preset: 'densenet-tiny', seed: 11 });
    const b = createEncoder({ preset: 'densenet-tiny', seed: 11 });
    const c = createEncoder({ preset: 'densenet-tiny', seed: 12 });
    const kernels = (e: Encoder) =>
      e
        .namedWeights()
        .filter(({ name }) => name.endsWith('/kernel'))
        .map(({ variable }) => Array.from(variable.read().dataSync()));
    expect(kernels(a).length).toBeGreaterThan(10);
    expect(kernels(a)).toEqual(kernels(b));
    expect(kernels(a)[0]).not.toEqual(kernels(c)[0]);
    for (const e of [a, b, c]) e.dispose();
  });

  it('prefixes every layer with the block name, so two encoders compose into one graph', async () => {
    const a = createEncoder({ preset: 'densenet-tiny', name: 'encA', seed: 1 });
    const b = createEncoder({ preset: 'densenet-tiny', name: 'encB', seed: 2 });
    expect(a.layersModel.layers.every((l) => l.name.startsWith('encA_'))).toBe(true);
    expect(a.namedWeights().every(({ name }) => name.startsWith('encA_'))).toBe(true);
    const input = tf.input({ shape: [64, 64, 1] });
    const fa = a.apply(input);
    const fb = b.apply(input);
    const joint = tf.model({ inputs: input, outputs: [fa.c5, fb.c5] });
    const x = image(5, [1, 64, 64, 1]);
    const [ja, jb] = joint.predict(x) as tf.Tensor[];
    const sa = tf.tidy(() => a.apply(x).c5);
    const sb = tf.tidy(() => b.apply(x).c5);
    expect(Array.from(await ja!.data())).toEqual(Array.from(await sa.data()));
    expect(Array.from(await jb!.data())).toEqual(Array.from(await sb.data()));
    for (const t of [ja!, jb!, sa, sb, x]) t.dispose();
    a.dispose();
    b.dispose();
  });

  it('dropout draws new masks every training call, reproducibly from the seed, and is off at inference', async () => {
    const run = async (seed: number) => {
      const enc = createEncoder({ preset: 'densenet-tiny', dropRate: 0.5, seed });
      const x = image(9, [2, 32, 32, 1]);
      const outs: number[][] = [];
      for (let i = 0; i < 2; i++) {
        const y = tf.tidy(() => enc.apply(x, { training: true }).c5);
        outs.push(Array.from(await y.data()));
        y.dispose();
      }
      const i1 = tf.tidy(() => enc.apply(x).c5);
      const i2 = tf.tidy(() => enc.apply(x).c5);
      expect(Array.from(await i1.data())).toEqual(Array.from(await i2.data()));
      for (const t of [i1, i2, x]) t.dispose();
      enc.dispose();
      return outs;
    };
    const first = await run(4);
    expect(first[0]).not.toEqual(first[1]);
    expect(await run(4)).toEqual(first);
  });

  it('freezes and unfreezes', () => {
    const enc = createEncoder({ preset: 'densenet-tiny' });
    const n = enc.trainableWeights.length;
    expect(n).toBeGreaterThan(0);
    enc.trainable = false;
    expect(enc.trainableWeights).toHaveLength(0);
    enc.trainable = true;
    expect(enc.trainableWeights).toHaveLength(n);
    enc.dispose();
  });
});

describe('createEncoder: memory', () => {
  it('does not leak tensors in inference or training mode', () => {
    const enc = createEncoder({ preset: 'densenet-tiny', dropRate: 0.2 });
    const x = image(2, [2, 64, 64, 1]);
    const warm = tf.tidy(() => enc.apply(x, { training: true }).c5.sum());
    warm.dispose();
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      enc.apply(x);
      enc.apply(x, { training: true });
    });
    const f = enc.apply(x);
    disposeFeatures(f);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    enc.dispose();
  });

  it('dispose frees every variable and later use fails clearly', () => {
    const before = tf.memory().numTensors;
    const enc = createEncoder({ preset: 'densenet-tiny' });
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    enc.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const x = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    expect(() => enc.apply(x)).toThrow(/disposed/);
    x.dispose();
  });
});

describe('createEncoder: registry and weights', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcx-encoder-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips its config through the registry', () => {
    const enc = createEncoder({ preset: 'densenet-tiny', growthRate: 6, name: 'enc2', seed: 5 });
    const spec = serializeBlock(enc);
    expect(spec.className).toBe(ENCODER_CLASS_NAME);
    const again = deserializeBlock<Encoder>(JSON.parse(JSON.stringify(spec)));
    expect(again.config).toEqual(enc.config);
    expect(again.featureChannels).toEqual(enc.featureChannels);
    expect(again.countParams()).toBe(enc.countParams());
    expect(again.namedWeights().map((w) => w.name)).toEqual(enc.namedWeights().map((w) => w.name));
    enc.dispose();
    again.dispose();
  });

  it('saves and loads its weights (BatchNorm statistics included) with identical outputs', async () => {
    const enc = createEncoder({ preset: 'densenet-tiny', seed: 21 });
    randomiseStatistics(enc, 21);
    const x = image(21, [2, 64, 64, 1]);
    const ref = tf.tidy(() => enc.apply(x));
    const file = join(dir, 'encoder.safetensors');
    await saveBlockWeights(enc, file);
    const fromFile = await loadBlock<Encoder>(file);
    const fromBytes = await loadBlockFromBytes<Encoder>(await encodeBlockWeights(enc));
    const fresh = createEncoder({ preset: 'densenet-tiny', seed: 99 });
    for (const other of [fromFile, fromBytes]) {
      const got = tf.tidy(() => other.apply(x));
      expect(await allValues(got)).toEqual(await allValues(ref));
      disposeFeatures(got);
    }
    const differs = tf.tidy(() => fresh.apply(x));
    expect((await allValues(differs))[3]).not.toEqual((await allValues(ref))[3]);
    disposeFeatures(differs);
    disposeFeatures(ref);
    for (const e of [enc, fromFile, fromBytes, fresh]) e.dispose();
    x.dispose();
  });

  it('still loads a weights file of the earlier .mcxw format (written by the code before safetensors)', async () => {
    // fixtures/densenet-tiny-seed1.mcxw: createEncoder({ preset: 'densenet-tiny', seed: 1 }) saved by that code.
    const legacy = await loadBlock<Encoder>(
      fileURLToPath(new URL('./fixtures/densenet-tiny-seed1.mcxw', import.meta.url)),
    );
    const same = createEncoder({ preset: 'densenet-tiny', seed: 1 });
    const a = legacy.namedWeights();
    const b = same.namedWeights();
    expect(a.map((w) => w.name)).toEqual(b.map((w) => w.name));
    for (let i = 0; i < a.length; i++)
      expect(a[i]!.variable.read().dataSync()).toEqual(b[i]!.variable.read().dataSync());
    legacy.dispose();
    same.dispose();
  });
});
