// core's BatchNorm layer against tfjs's own BatchNormalization on the cpu backend: forward, gradients, moving
// statistics, fused ReLU, serialization (both directions) and tensor leaks; on wasm (SIMD kernels) and on cpu
// (the plain-ops path of the same custom gradient).
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelsRunBy, kernelsRunDuring } from './helpers/kernels-run';
import {
  batchNorm,
  batchNormTraining,
  BatchNorm,
  BatchNormReLU,
  BATCH_NORM_RELU_CLASS_NAME,
  initBackend,
  tf,
} from '../src/index';
import { randomValues, relErr } from './helpers/numeric';

interface Params {
  gamma: Float32Array;
  beta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

function paramsFor(C: number, seed: number): Params {
  return {
    gamma: randomValues(C, seed, 1, 0.3),
    beta: randomValues(C, seed + 1, 0, 0.5),
    movingMean: randomValues(C, seed + 2, 0, 0.1),
    movingVariance: Float32Array.from(randomValues(C, seed + 3), (v) => 1 + Math.abs(v)),
  };
}

function setParams(layer: tf.layers.Layer, p: Params): void {
  const C = p.gamma.length;
  tf.tidy(() =>
    layer.setWeights([
      tf.tensor1d(p.gamma),
      tf.tensor1d(p.beta),
      tf.tensor1d(p.movingMean),
      tf.tensor1d(p.movingVariance),
    ]),
  );
  expect(layer.getWeights().map((w) => w.shape[0])).toEqual([C, C, C, C]);
}

/** One training-mode call: y, grads wrt x / gamma / beta of sum(y * r), and the updated moving statistics. */
function trainStep(layer: tf.layers.Layer, x: tf.Tensor, r: tf.Tensor, relu: boolean): Float32Array[] {
  return tf.tidy(() => {
    const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    let y: tf.Tensor | null = null;
    const f = (xi: tf.Tensor) => {
      let out = layer.apply(xi, { training: true }) as tf.Tensor;
      if (relu) out = tf.relu(out);
      y = tf.keep(out.clone());
      return tf.sum(tf.mul(out, r));
    };
    const { grads } = tf.variableGrads(() => f(x) as tf.Scalar, [gamma!, beta!]);
    const dx = tf.grad((xi: tf.Tensor) => {
      let out = layer.apply(xi, { training: true }) as tf.Tensor;
      if (relu) out = tf.relu(out);
      return tf.sum(tf.mul(out, r));
    })(x);
    // Both sides apply the layer twice, so both moving averages move twice.
    const out = [y!, dx, grads[gamma!.name]!, grads[beta!.name]!, ...layer.getWeights().slice(2)].map((t) =>
      (t.dataSync() as Float32Array).slice(),
    );
    tf.dispose(y!);
    return out;
  });
}

async function runTrainStep(
  backend: 'cpu' | 'wasm',
  make: () => tf.layers.Layer,
  shape: number[],
  p: Params,
  xv: Float32Array,
  rv: Float32Array,
  reluAfter: boolean,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const layer = make();
  layer.build(shape);
  setParams(layer, p);
  const x = tf.tensor(xv, shape);
  const r = tf.tensor(rv, shape);
  const out = trainStep(layer, x, r, reluAfter).map((a) => a.slice());
  tf.dispose([x, r]);
  disposeLayer(layer);
  return out;
}

/** Eagerly used layers cannot be dispose()d (tfjs wants a symbolic call first): free their variables. */
function disposeLayer(layer: tf.layers.Layer): void {
  for (const w of layer.weights) w.dispose();
}

const names = ['y', 'dx', 'dgamma', 'dbeta', 'moving_mean', 'moving_variance'];

beforeAll(async () => {
  await initBackend('wasm');
});

describe('BatchNorm layer vs tfjs BatchNormalization', () => {
  const shapes = [
    [4, 6, 5, 8], // C multiple of 4: SIMD lanes only
    [3, 5, 7, 6], // C = 6: SIMD + scalar tail
    [2, 3, 3, 1], // one channel
    [16, 12], // after a dense layer
    [2, 3, 4, 20], // 16-channel blocks + a 4-channel block
    [3, 4, 3, 27], // every path: 16-, 8- and 4-channel blocks and a scalar tail
  ];
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const shape of shapes) {
      for (const relu of [false, true]) {
        it(`${backend} ${JSON.stringify(shape)}${relu ? ' + fused relu' : ''}`, async () => {
          const n = shape.reduce((a, b) => a * b, 1);
          const C = shape[shape.length - 1]!;
          const p = paramsFor(C, 11 * C);
          // An offset mean checks the one-pass variance; the negative part checks the relu mask.
          const xv = randomValues(n, 3 + C, 2.5, 1.5);
          const rv = randomValues(n, 4 + C);
          const ref = await runTrainStep(
            'cpu',
            () => tf.layers.batchNormalization({ momentum: 0.9 }),
            shape,
            p,
            xv,
            rv,
            relu,
          );
          const before = tf.memory().numTensors;
          const got = await runTrainStep(backend, () => batchNorm({ momentum: 0.9, relu }), shape, p, xv, rv, false);
          expect(tf.memory().numTensors).toBe(before);
          got.forEach((g, i) => expect(relErr(g, ref[i]!), names[i]).toBeLessThan(1e-4));
        });
      }
    }
  }

  it('inference uses the moving statistics, like tfjs', async () => {
    const shape = [2, 4, 4, 8];
    const p = paramsFor(8, 5);
    const xv = randomValues(256, 6);
    const outs: Float32Array[] = [];
    for (const make of [() => tf.layers.batchNormalization({}), () => batchNorm({})]) {
      await tf.setBackend('wasm');
      const layer = make();
      layer.build(shape);
      setParams(layer, p);
      outs.push(
        tf
          .tidy(() => (layer.apply(tf.tensor(xv, shape), { training: false }) as tf.Tensor).dataSync() as Float32Array)
          .slice(),
      );
      disposeLayer(layer);
    }
    expect(relErr(outs[1]!, outs[0]!)).toBeLessThan(1e-6);
  });

  it('propagates NaN inputs to the output of their channel', async () => {
    await tf.setBackend('wasm');
    const layer = batchNorm({});
    const xv = randomValues(2 * 2 * 2 * 4, 9);
    xv[1] = Number.NaN; // channel 1
    const y = tf.tidy(() => (layer.apply(tf.tensor(xv, [2, 2, 2, 4]), { training: true }) as tf.Tensor).dataSync());
    for (let i = 0; i < y.length; i++) expect(Number.isNaN(y[i]!), `element ${i}`).toBe(i % 4 === 1);
    disposeLayer(layer);
  });
});

describe('tf.layers.batchNormalization on wasm', () => {
  it('trains through the SIMD BatchNorm kernels, with the results of tfjs on cpu', async () => {
    const shape = [3, 5, 4, 12];
    const p = paramsFor(12, 91);
    const xv = randomValues(3 * 5 * 4 * 12, 92, 1.5, 2);
    const rv = randomValues(3 * 5 * 4 * 12, 93);
    const make = () => tf.layers.batchNormalization({ momentum: 0.9 });
    const ref = await runTrainStep('cpu', make, shape, p, xv, rv, true);
    const { kernels: seen, result: got } = await kernelsRunDuring(() =>
      runTrainStep('wasm', make, shape, p, xv, rv, true),
    );
    expect(seen).toContain('MCXBatchNormTraining');
    expect(seen).toContain('MCXBatchNormTrainingGrad');
    expect(seen).not.toContain('FusedBatchNorm');
    got.forEach((g, i) => expect(relErr(g, ref[i]!), names[i]).toBeLessThan(1e-4));
  });

  it('keeps tfjs own path with MULTICHEXNET_LAYERS_BN=stock', async () => {
    process.env['MULTICHEXNET_LAYERS_BN'] = 'stock';
    try {
      await tf.setBackend('wasm');
      const layer = tf.layers.batchNormalization({});
      const seen = kernelsRunBy(() => tf.tidy(() => void layer.apply(tf.ones([2, 3, 3, 4]), { training: true })));
      expect(seen).toContain('FusedBatchNorm');
      disposeLayer(layer);
    } finally {
      delete process.env['MULTICHEXNET_LAYERS_BN'];
    }
  });
});

describe('batchNormTraining gradient vs finite differences', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(backend, async () => {
      await tf.setBackend(backend);
      const shape = [2, 3, 3, 4];
      const n = 72;
      const xv = randomValues(n, 17);
      const rv = randomValues(n, 18);
      const g = tf.tensor1d([1.2, 0.7, -0.4, 1.5]);
      const b = tf.tensor1d([0.1, -0.2, 0.3, 0]);
      const r = tf.tensor(rv, shape);
      const loss = (x: tf.Tensor) =>
        tf.tidy(() => {
          const { y, mean, variance } = batchNormTraining(x, g, b, 1e-3, true);
          mean.dispose();
          variance.dispose();
          return tf.sum(tf.mul(y, r));
        });
      const x = tf.tensor(xv, shape);
      const analytic = tf.tidy(() => tf.grad(loss)(x).dataSync());
      // Central differences in float64 arithmetic of the float32 loss: step large enough to beat rounding.
      const eps = 1e-2;
      for (const i of [0, 13, 40, 71]) {
        const plus = xv.slice();
        plus[i]! += eps;
        const minus = xv.slice();
        minus[i]! -= eps;
        const lp = tf.tidy(() => loss(tf.tensor(plus, shape)).dataSync()[0]!);
        const lm = tf.tidy(() => loss(tf.tensor(minus, shape)).dataSync()[0]!);
        expect(analytic[i]!).toBeCloseTo((lp - lm) / (2 * eps), 2);
      }
      tf.dispose([g, b, r, x]);
    });
  }
});

describe('serialization', () => {
  it('has the weights, weight names and config of tfjs BatchNormalization', () => {
    const ours = batchNorm({ name: 'bn', momentum: 0.9, epsilon: 1e-5 });
    const stock = tf.layers.batchNormalization({ name: 'bn', momentum: 0.9, epsilon: 1e-5 });
    ours.build([null, 4, 4, 6]);
    stock.build([null, 4, 4, 6]);
    expect(ours.getClassName()).toBe('BatchNormalization');
    expect(ours.getConfig()).toEqual(stock.getConfig());
    const wn = (l: tf.layers.Layer) => l.weights.map((w) => (w as unknown as { originalName: string }).originalName);
    expect(wn(ours)).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    expect(wn(ours)).toEqual(wn(stock));
    expect(ours.weights.map((w) => w.trainable)).toEqual(stock.weights.map((w) => w.trainable));
    disposeLayer(ours);
    disposeLayer(stock);
  });

  it('round-trips a model through JSON and weights, in both directions', async () => {
    await tf.setBackend('wasm');
    const build = (norm: (name: string) => tf.layers.Layer) => {
      const input = tf.input({ shape: [6, 6, 2] });
      const c = tf.layers
        .conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv' })
        .apply(input) as tf.SymbolicTensor;
      const n = norm('norm').apply(c) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: n });
    };
    const ours = build((name) => batchNorm({ name }));
    const stock = build((name) => tf.layers.batchNormalization({ name }));
    const p = paramsFor(4, 77);
    setParams(ours.getLayer('norm'), p);
    const x = tf.tensor(randomValues(2 * 72, 78), [2, 6, 6, 2]);
    stock.setWeights(ours.getWeights()); // same names and order: weights move either way
    const expected = (stock.predict(x) as tf.Tensor).dataSync().slice();
    // JSON of ours names the tfjs class; deserialising it yields our layer (registered under that name).
    const json = ours.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toContain('BatchNormalization');
    const restored = await tf.models.modelFromJSON({ modelTopology: json });
    restored.setWeights(ours.getWeights());
    expect(restored.getLayer('norm')).toBeInstanceOf(BatchNorm);
    const got = (restored.predict(x) as tf.Tensor).dataSync();
    expect(relErr(got, expected)).toBeLessThan(1e-6);
    tf.dispose(x);
    [ours, stock, restored].forEach((m) => m.dispose());
  });

  it('serialises the fused variant under its own class name', async () => {
    const layer = batchNorm({ relu: true, name: 'bnr' });
    expect(layer).toBeInstanceOf(BatchNormReLU);
    expect(layer.getClassName()).toBe(BATCH_NORM_RELU_CLASS_NAME);
    const input = tf.input({ shape: [3, 3, 4] });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    const restored = await tf.models.modelFromJSON({
      modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'],
    });
    expect(restored.getLayer('bnr')).toBeInstanceOf(BatchNormReLU);
    const x = tf.tensor(randomValues(2 * 36, 3), [2, 3, 3, 4]);
    const y = (restored.predict(x) as tf.Tensor).dataSync();
    expect(Math.min(...y)).toBeGreaterThanOrEqual(0);
    tf.dispose(x);
    model.dispose();
    restored.dispose();
  });
});
