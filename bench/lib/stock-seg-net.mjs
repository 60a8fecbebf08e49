// A small DenseNet-style encoder with a segmentation decoder, written only with stock tfjs layers the way a user
// composes a custom pipeline (tf.layers.conv2d, batchNormalization, reLU, concatenate, averagePooling2d,
// upSampling2d, add; sigmoid BCE on logits), trained with optimizer.minimize and Adam. No @multichexnet layer is
// used: whatever speed it gets comes from the backend's kernels and gradients. The PyTorch twin is
// bench/reference/seg_net_torch.py (same layers, same shapes).
//
//   stem: conv 7x7/2 (16) + BN + ReLU + maxpool 3x3/2                     -> S/4, 16
//   3 dense blocks of 4 layers (BN-ReLU-conv1x1 48, BN-ReLU-conv3x3 12, concat), transitions BN-ReLU-conv1x1
//   (half the channels) + avgpool 2                                          -> S/4 64, S/8 80, S/16 88
//   decoder: 1x1 to 32, x2 nearest + 1x1(skip) to 32, conv3x3 32 + BN + ReLU, twice; x4 nearest, 1x1 -> 1 logit

export const SEG_NET = { stem: 16, growth: 12, bottleneck: 48, layers: 4, blocks: 3, decoder: 32 };

export function buildStockSegNet(tf, { size, seed = 3 }) {
  let i = 0;
  const init = () => tf.initializers.heNormal({ seed: seed + i++ });
  const conv = (filters, k, strides = 1) =>
    tf.layers.conv2d({ filters, kernelSize: k, strides, padding: 'same', useBias: false, kernelInitializer: init() });
  const bnRelu = (x) => tf.layers.reLU().apply(tf.layers.batchNormalization().apply(x));
  const input = tf.input({ shape: [size, size, 1] });
  let x = bnRelu(conv(SEG_NET.stem, 7, 2).apply(input));
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x);
  let channels = SEG_NET.stem;
  const skips = [];
  for (let b = 0; b < SEG_NET.blocks; b++) {
    for (let l = 0; l < SEG_NET.layers; l++) {
      let h = conv(SEG_NET.bottleneck, 1).apply(bnRelu(x));
      h = conv(SEG_NET.growth, 3).apply(bnRelu(h));
      x = tf.layers.concatenate().apply([x, h]);
      channels += SEG_NET.growth;
    }
    skips.push(x);
    if (b < SEG_NET.blocks - 1) {
      channels = Math.floor(channels / 2);
      x = tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(conv(channels, 1).apply(bnRelu(x)));
    }
  }
  let d = conv(SEG_NET.decoder, 1).apply(bnRelu(x));
  for (const skip of [skips[1], skips[0]]) {
    d = tf.layers.upSampling2d({ size: [2, 2] }).apply(d);
    d = tf.layers.add().apply([d, conv(SEG_NET.decoder, 1).apply(skip)]);
    d = bnRelu(conv(SEG_NET.decoder, 3).apply(d));
  }
  d = tf.layers.upSampling2d({ size: [4, 4] }).apply(d);
  const logits = tf.layers.conv2d({ filters: 1, kernelSize: 1, kernelInitializer: init() }).apply(d);
  return tf.model({ inputs: input, outputs: logits });
}

/** { step(): loss, dispose() }: one Adam step on fixed random images and masks. */
export function stockSegTrainer(tf, { size, batch, seed = 3 }) {
  const model = buildStockSegNet(tf, { size, seed });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, size, size, 1], 0, 1, 'float32', seed);
  const y = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', seed + 1), 0.8), 'float32'),
  );
  const vars = model.trainableWeights.map((w) => w.read());
  return {
    step() {
      const loss = optimizer.minimize(
        () => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true })),
        true,
        vars,
      );
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    },
    dispose() {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}
