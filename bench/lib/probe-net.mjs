// The probe net of specs/TRAINING-SPEED.md, built from the BUILT @multichexnet/core (packages/core/dist):
// 4 x [conv3x3 no-bias + BatchNorm + ReLU + maxpool2], 16->32->64->128 filters, global average pool,
// dense(14) with sigmoid + binary cross-entropy (on logits), Adam, 1-channel input.
// The PyTorch twin is bench/reference/probe_net_torch.py.

/**
 * @param core the imported @multichexnet/core
 * @param opts.size input side in pixels
 * @param opts.norm 'core' (core's batchNorm with fused ReLU, the default) | 'core-unfused' (core's batchNorm +
 *   separate ReLU layer) | 'stock' (tf.layers.batchNormalization + ReLU layer: tfjs's own gradient)
 */
export function buildProbeNet(core, { size, norm = 'core', seed = 7 }) {
  const { tf, batchNorm } = core;
  const input = tf.input({ shape: [size, size, 1] });
  let h = input;
  let i = 0;
  for (const filters of [16, 32, 64, 128]) {
    h = tf.layers
      .conv2d({
        filters,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: seed + i }),
        name: `conv${i}`,
      })
      .apply(h);
    if (norm === 'core') {
      h = batchNorm({ relu: true, name: `bn${i}` }).apply(h);
    } else {
      const bn = norm === 'stock' ? tf.layers.batchNormalization({ name: `bn${i}` }) : batchNorm({ name: `bn${i}` });
      h = tf.layers.reLU({ name: `relu${i}` }).apply(bn.apply(h));
    }
    h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i}` }).apply(h);
    i++;
  }
  h = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(h);
  const logits = tf.layers
    .dense({ units: 14, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 10 }), name: 'logits' })
    .apply(h);
  return tf.model({ inputs: input, outputs: logits });
}

/**
 * A training-step closure for the probe net on fixed random data (batch x size x size x 1, 14 binary labels).
 * Call dispose() when done.
 */
export function probeTrainer(core, { size, batch = 16, norm = 'core', seed = 7 }) {
  const { tf } = core;
  const model = buildProbeNet(core, { size, norm, seed });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, size, size, 1], 0, 1, 'float32', seed);
  const y = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([batch, 14], 0, 1, 'float32', seed + 1), 0.5), 'float32'),
  );
  const vars = model.trainableWeights.map((w) => w.read());
  return {
    model,
    /** One Adam step; returns the loss value (reading it waits for the step to finish). */
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

/** Our probe-net steps in a fresh process (own backend, so its own thread count). */
export async function oursInChild(ctx, { size, warmup, steps, threads }) {
  const { spawnSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const r = spawnSync(
    process.execPath,
    [
      join(ctx.repoRoot, 'bench', 'lib', 'probe-step-child.mjs'),
      ctx.repoRoot,
      String(size),
      String(warmup),
      String(steps),
    ],
    { encoding: 'utf8', env: { ...process.env, MULTICHEXNET_WASM_THREADS: String(threads), MULTICHEXNET_LOG: 'warn' } },
  );
  if (r.status !== 0) throw new Error(`probe child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Runs the PyTorch reference; null when Debian's torch is not importable. */
export async function torchProbe(ctx, { size, batch = 16, warmup, steps, threads = 2 }) {
  if (!ctx.torchAvailable) return null;
  const { spawnSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const script = join(ctx.repoRoot, 'bench', 'reference', 'probe_net_torch.py');
  const r = spawnSync(
    ctx.python,
    [
      script,
      '--size',
      String(size),
      '--batch',
      String(batch),
      '--threads',
      String(threads),
      '--warmup',
      String(warmup),
      '--steps',
      String(steps),
    ],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  if (r.status !== 0) throw new Error(`torch reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
