// The paper's encoder as a training step for the benchmark: CheXEnc `densenet121` (createEncoder from the BUILT
// @multichexnet/core-encoder) + global average pool of c5 + dense 14 + sigmoid BCE on logits, Adam, 1-channel
// input. The PyTorch twin is bench/reference/densenet121_torch.py. About 21.6 GFLOP per 256 px image (forward +
// backward: 3 x 2.76 G multiply-adds at 224 px, scaled by (256/224)^2).

/** GFLOP of one training step of `batch` images at `size` px. */
export function densenetStepGflop(size, batch) {
  return 6 * 2.76 * (size / 224) ** 2 * batch;
}

/** { step(): loss, dispose() } for a CheXEnc preset (default DenseNet-121) + pool + dense 14 on fixed random data. */
export function densenetTrainer(core, encoderPkg, { size, batch, preset = 'densenet121', seed = 1 }) {
  const { tf } = core;
  const encoder = encoderPkg.createEncoder({ preset, seed });
  const dense = tf.layers.dense({ units: 14, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) });
  const x = tf.randomNormal([batch, size, size, 1], 0, 1, 'float32', seed + 2);
  const y = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([batch, 14], 0, 1, 'float32', seed + 3), 0.5), 'float32'),
  );
  const optimizer = tf.train.adam(1e-3);
  const forward = () =>
    tf.losses.sigmoidCrossEntropy(y, dense.apply(tf.mean(encoder.apply(x, { training: true }).c5, [1, 2])));
  tf.tidy(() => {
    dense.apply(tf.zeros([1, encoder.featureChannels.c5])); // builds the dense weights before the first step
  });
  const vars = [...encoder.trainableWeights, ...dense.trainableWeights].map((w) => w.read());
  return {
    encoder,
    step() {
      const loss = optimizer.minimize(forward, true, vars);
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    },
    dispose() {
      tf.dispose([x, y]);
      optimizer.dispose();
      encoder.dispose();
      dense.dispose();
    },
  };
}
