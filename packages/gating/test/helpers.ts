import { tf, type EncoderFeatures, type FeatureChannels } from '@multichexnet/core';
import { SMALL_FEATURE_CHANNELS } from '@multichexnet/core/testing';

/**
 * A small real encoder (strided convs + ReLU) producing c2..c5 at strides 4..32, with a call counter: what the
 * encoder-cache tests measure. Gating may import only core, so CheXEnc itself is not used here.
 */
export function countingEncoder(
  channels: FeatureChannels = SMALL_FEATURE_CHANNELS,
  seed = 1,
): {
  apply(x: tf.Tensor4D, opts?: { training?: boolean }): EncoderFeatures;
  calls: number;
  model: tf.LayersModel;
} {
  const input = tf.input({ shape: [null, null, 1] });
  let x = input;
  const outs: tf.SymbolicTensor[] = [];
  const widths = [channels.c2, channels.c3, channels.c4, channels.c5];
  for (let level = 0; level < 5; level++) {
    const filters = level === 0 ? 4 : widths[level - 1]!;
    x = tf.layers
      .conv2d({
        filters,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + level }),
      })
      .apply(x) as tf.SymbolicTensor;
    if (level >= 1) outs.push(x);
  }
  const model = tf.model({ inputs: input, outputs: outs });
  const enc = {
    calls: 0,
    model,
    apply(images: tf.Tensor4D, opts?: { training?: boolean }): EncoderFeatures {
      enc.calls++;
      const [c2, c3, c4, c5] = model.apply(images, { training: opts?.training ?? false }) as tf.Tensor4D[];
      return { c2: c2!, c3: c3!, c4: c4!, c5: c5! };
    },
  };
  return enc;
}
