// tf.train.adam on wasm runs one fused kernel per variable (kernels/adam.ts): same weights and optimizer state as
// tfjs on the cpu backend, no tensor left behind.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index';
import { kernelsRunDuring } from './helpers/kernels-run';
import { randomValues, relErr } from './helpers/numeric';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('tf.train.adam on wasm (one fused kernel per variable)', () => {
  it('gives the weights and optimizer state of tfjs on cpu, and runs the fused kernel', async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const model = tf.sequential({
        layers: [
          tf.layers.dense({
            inputShape: [7],
            units: 13,
            activation: 'relu',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const optimizer = tf.train.adam(0.05, 0.8, 0.95, 1e-6);
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const x = tf.tensor2d(randomValues(20 * 7, 9), [20, 7]);
      const y = tf.tensor2d(randomValues(20 * 3, 10), [20, 3]);
      const { kernels } = await kernelsRunDuring(async () => {
        for (let i = 0; i < 4; i++) await model.trainOnBatch(x, y);
      });
      const weights = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      const named = await optimizer.getWeights();
      const state = named.map((w) => w.tensor.dataSync().slice() as Float32Array);
      named[0]!.tensor.dispose(); // the step counter, a new scalar (the others are the optimizer's variables)
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
      return { weights, state, kernels };
    };
    const ref = await run('cpu');
    const before = tf.memory().numTensors;
    const got = await run('wasm');
    expect(tf.memory().numTensors).toBe(before);
    expect(got.kernels).toContain('MCXAdamUpdate');
    expect(got.kernels).not.toContain('Sqrt');
    expect(got.state.length).toBe(ref.state.length);
    [...got.weights, ...got.state].forEach((w, i) =>
      expect(relErr(w, [...ref.weights, ...ref.state][i]!), `tensor ${i}`).toBeLessThan(1e-5),
    );
  });
});
