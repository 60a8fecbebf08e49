/**
 * The memory-efficient training pass of DenseNet (torchvision's `memory_efficient=True`): the same layers and
 * weights as the graph of `buildDenseNet`, run eagerly, with each dense block as one custom gradient that keeps only
 * the block's input and the narrow output of each dense layer, and recomputes the rest in the backward pass.
 *
 * Why the whole dense layer and a block-wide gradient, where torchvision recomputes only concat + BN + ReLU + 1x1
 * conv: in a plain tfjs training step every dense layer keeps its concatenated input and that input's BN + ReLU
 * (both as wide as everything the block has produced so far), and tfjs's backward pass holds every gradient it has
 * computed until it ends (PyTorch frees each as soon as it is used), the gradients of those wide tensors included.
 * Summed over a block that grows with the square of its depth. Here the backward pass walks the block's layers
 * itself, recomputing one layer at a time (concat, BN + ReLU, 1x1 conv, BN + ReLU, 3x3 conv, dropout) and adding
 * each layer's input gradients into one running gradient per layer output, so memory stays linear in depth, for
 * one extra forward pass of the dense layers.
 */
import { BatchNorm, batchNormTraining, tf } from '@multichexnet/core';
import { denseLayerNames, transitionNames, type DenseNetArgs } from './densenet';

/** The fields of a tfjs Conv2D layer the recomputation needs (tfjs-layers does not type them publicly). */
interface Conv2DLayer extends tf.layers.Layer {
  kernel: tf.LayerVariable;
  strides: [number, number];
  padding: 'same' | 'valid';
  dilationRate: [number, number];
}

/** tfjs's Dropout layer: its rate, and the seed the encoder sets before each training call. */
interface DropoutLayer extends tf.layers.Layer {
  rate: number;
  seed: number;
}

/** One dense layer: BN + ReLU + conv units (two with a bottleneck, else one), then optional dropout. */
interface DenseLayer {
  units: { bn: BatchNorm; conv: Conv2DLayer }[];
  dropout: DropoutLayer | null;
}

/**
 * Gradients of `f` at `xs` for the output gradient `dy`, computed while the engine is already back-propagating an
 * outer tape (inside a custom gradient). tfjs's `gradients` starts a fresh tape when no other is being recorded and
 * drops it (`activeTape = null`) when done, which would lose the outer tape the engine is still walking; the outer
 * tape is therefore put back afterwards. The inner tape's saved tensors are freed by the inner call, at once.
 */
function gradientsWithinBackward(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const state = tf.engine().state;
  const outer = state.activeTape;
  try {
    return tf.grads(f)(xs, dy);
  } finally {
    state.activeTape = outer;
  }
}

const concatOf = (parts: tf.Tensor[]): tf.Tensor => (parts.length === 1 ? parts[0]! : tf.concat(parts, -1));

/** The weights of a dense layer in a fixed order: gamma, beta, kernel per unit. */
function weightsOf(layer: DenseLayer): tf.Tensor[] {
  return layer.units.flatMap(({ bn, conv }) => [bn.gamma.read(), bn.beta.read(), conv.kernel.read()]);
}

/**
 * Output [B, H, W, k] of `layer` on the block's outputs so far, in training mode, from explicit weights (in
 * {@link weightsOf} order) and with batch statistics but no moving-average update: the recomputation the backward
 * pass differentiates. The ops are those the layers run (fused conv2d as tfjs's Conv2D, core's BN kernels, tfjs's
 * dropout with the seed of the forward pass), so the result equals the forward pass.
 */
function recomputeLayer(layer: DenseLayer, parts: tf.Tensor[], weights: tf.Tensor[], dropoutSeed: number): tf.Tensor {
  let h = concatOf(parts);
  layer.units.forEach(({ bn, conv }, u) => {
    const [gamma, beta, kernel] = weights.slice(3 * u, 3 * u + 3) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor4D];
    const { y, mean, variance } = batchNormTraining(h, gamma, beta, bn.epsilon, true);
    mean.dispose();
    variance.dispose();
    h = tf.fused.conv2d({
      x: y as tf.Tensor4D,
      filter: kernel,
      strides: conv.strides,
      pad: conv.padding,
      dataFormat: 'NHWC',
      dilations: conv.dilationRate,
    });
  });
  return layer.dropout === null ? h : tf.dropout(h, layer.dropout.rate, undefined, dropoutSeed);
}

/**
 * A dense block [B, H, W, C0] -> concat(x0, h_1, ..., h_L) [B, H, W, C0 + L k], NHWC, as one custom gradient. The
 * forward pass runs the layers themselves (BN's moving statistics move here, once per call) one tidy scope per layer,
 * and keeps x0 and every h_l. The backward pass goes from the last layer to the first: it recomputes the layer from
 * the saved outputs, differentiates it for the running gradient of its output, and adds the gradients of its inputs
 * into their running gradients (the old ones freed at once).
 */
function checkpointedDenseBlock(x0: tf.Tensor4D, layers: DenseLayer[]): tf.Tensor4D {
  const perLayer = layers.map((l) => 3 * l.units.length);
  const seeds: number[] = [];
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [input, ...weights] = args as tf.Tensor[];
    const parts: tf.Tensor[] = [input!];
    layers.forEach((layer, l) => {
      // The encoder reseeds its dropout layers before each training call: the recomputation reuses this call's seed.
      seeds[l] = layer.dropout?.seed ?? 0;
      parts.push(
        tf.tidy(() => {
          let h = concatOf(parts);
          for (const { bn, conv } of layer.units)
            h = conv.apply(bn.apply(h, { training: true }), { training: true }) as tf.Tensor;
          return layer.dropout === null ? h : (layer.dropout.apply(h, { training: true }) as tf.Tensor);
        }),
      );
    });
    save(parts);
    const value = tf.concat(parts, -1);
    tf.dispose(parts.slice(1));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // Running gradient of x0 and of each layer output, from the block output's gradient.
        const running: tf.Tensor[] = tf.split(
          dy,
          saved.map((t) => t.shape[3]!),
          -1,
        );
        const weightGrads: tf.Tensor[][] = [];
        let offset = weights.length;
        for (let l = layers.length - 1; l >= 0; l--) {
          offset -= perLayer[l]!;
          const w = weights.slice(offset, offset + perLayer[l]!);
          const seed = seeds[l]!;
          const grads = gradientsWithinBackward(
            (...xs) => recomputeLayer(layers[l]!, xs.slice(0, l + 1), xs.slice(l + 1), seed),
            [...saved.slice(0, l + 1), ...w],
            running[l + 1]!,
          );
          running[l + 1]!.dispose();
          for (let i = 0; i <= l; i++) {
            const sum = tf.add(running[i]!, grads[i]!);
            tf.dispose([running[i]!, grads[i]!]);
            running[i] = sum;
          }
          weightGrads[l] = grads.slice(l + 1);
        }
        return [running[0]!, ...weightGrads.flat()];
      },
    };
  });
  return op(x0, ...layers.flatMap(weightsOf)) as tf.Tensor4D;
}

/**
 * Features [c2, c3, c4, c5] of `image` [B, H, W, Cin] (NHWC) in training mode, through the layers of `model` (a
 * graph built by `buildDenseNet(args)`), memory-efficient: same outputs, gradients and BN statistics updates as
 * `model.apply(image, { training: true })`.
 */
export function denseNetTrainingPass(model: tf.LayersModel, args: DenseNetArgs, image: tf.Tensor4D): tf.Tensor4D[] {
  const layer = (suffix: string) => model.getLayer(`${args.name}_${suffix}`);
  const run = (suffix: string, x: tf.Tensor): tf.Tensor4D => layer(suffix).apply(x, { training: true }) as tf.Tensor4D;
  let x = run('stem_pad', image);
  for (const suffix of ['stem_conv', 'stem_bn', 'stem_pool_pad', 'stem_pool']) x = run(suffix, x);
  const features: tf.Tensor4D[] = [];
  args.blockLayers.forEach((count, b) => {
    const layers: DenseLayer[] = [];
    for (let l = 1; l <= count; l++) {
      const n = denseLayerNames(b, l);
      const unit = (bn: string, conv: string) => ({ bn: layer(bn) as BatchNorm, conv: layer(conv) as Conv2DLayer });
      layers.push({
        units: args.bottleneckWidth > 0 ? [unit(n.bn1, n.conv1), unit(n.bn2, n.conv2)] : [unit(n.bn1, n.conv2)],
        dropout: args.dropRate > 0 ? (layer(n.drop) as DropoutLayer) : null,
      });
    }
    x = checkpointedDenseBlock(x, layers);
    if (b < 3) {
      const t = transitionNames(b);
      const feature = run(t.bn, x);
      features.push(feature);
      x = run(t.pool, run(t.conv, feature));
    } else {
      features.push(run('final_bn', x));
    }
  });
  return features;
}
