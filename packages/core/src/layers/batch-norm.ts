import { tf } from '../tf';
import { batchNormTraining, wasmKernelsActive } from './batch-norm-training';

/** Arguments of {@link batchNorm}: the subset of tfjs BatchNormalization options the project uses. */
export interface BatchNormArgs {
  name?: string;
  /** Default -1 (channels last). */
  axis?: number;
  momentum?: number;
  epsilon?: number;
  /** Fuse a ReLU after the normalisation (one kernel on wasm). */
  relu?: boolean;
  trainable?: boolean;
}

/** Class name under which the fused BatchNorm + ReLU layer serialises (plain BatchNorm keeps tfjs's name). */
export const BATCH_NORM_RELU_CLASS_NAME = 'BatchNormReLU';

/** The fields of tfjs's BatchNormalization our subclass reads. */
interface StockBatchNorm extends tf.layers.Layer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}
type StockBatchNormClass = new (args?: object) => StockBatchNorm;

// tfjs-layers does not export the BatchNormalization class, only a factory; its serialization map holds the class
// itself (looked up, never instantiated, so no layer-name counter moves).
function stockClass(): StockBatchNormClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'] as unknown as
    [StockBatchNormClass, unknown] | undefined;
  if (entry === undefined) throw new Error('tfjs BatchNormalization is not registered');
  // Our own subclass replaces the entry below; walk up to the stock class if this module is evaluated twice.
  let cls = entry[0] as StockBatchNormClass & { multichexnet?: boolean };
  while (cls.multichexnet === true)
    cls = Object.getPrototypeOf(cls) as StockBatchNormClass & { multichexnet?: boolean };
  return cls;
}

const Stock = stockClass();
const stockCall = Stock.prototype.call as (
  this: StockBatchNorm,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: { training?: boolean },
) => tf.Tensor | tf.Tensor[];

function isLastAxis(axis: number, rank: number): boolean {
  return axis === -1 || axis === rank - 1;
}

/**
 * Training-mode call through {@link batchNormTraining} (hand-written gradient, SIMD kernels on wasm), with the
 * moving averages updated exactly as tfjs BatchNormalization updates them; null when the layer's settings need
 * tfjs's own implementation (inference, another axis, center or scale off).
 */
function fastTrainingCall(
  layer: StockBatchNorm,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: { training?: boolean },
  relu: boolean,
): tf.Tensor | null {
  const x = Array.isArray(inputs) ? inputs[0]! : inputs;
  if (kwargs['training'] !== true || !layer.center || !layer.scale || !isLastAxis(layer.axis, x.rank)) return null;
  return tf.tidy(() => {
    const { y, mean, variance } = batchNormTraining(
      x,
      layer.gamma.read() as tf.Tensor1D,
      layer.beta.read() as tf.Tensor1D,
      layer.epsilon,
      relu,
    );
    const decay = 1 - layer.momentum;
    for (const [variable, value] of [
      [layer.movingMean, mean],
      [layer.movingVariance, variance],
    ] as const) {
      const orig = variable.read();
      variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
    }
    mean.dispose();
    variance.dispose();
    return y;
  });
}

/**
 * `MULTICHEXNET_LAYERS_BN=stock` keeps tfjs's own training path for `tf.layers.batchNormalization` (to measure what
 * the fast path is worth); read per call.
 */
function stockLayersKeepTheirPath(): boolean {
  return (typeof process !== 'undefined' ? process.env?.['MULTICHEXNET_LAYERS_BN'] : undefined) === 'stock';
}

// `tf.layers.batchNormalization()` builds the stock class: on the wasm backend with our kernels its training step
// takes the same fast path as core's own layer (the stock step, tf.moments + the FusedBatchNorm gradient with a
// full-size Tile and transposed reductions, was about 45% of a training step there). Other backends keep tfjs's
// implementation unchanged.
Stock.prototype.call = function (
  this: StockBatchNorm,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: { training?: boolean },
) {
  if (wasmKernelsActive() && !stockLayersKeepTheirPath()) {
    const y = fastTrainingCall(this, inputs, kwargs, false);
    if (y !== null) return y;
  }
  return stockCall.call(this, inputs, kwargs);
} as typeof Stock.prototype.call;

/**
 * BatchNorm over the last axis, NHWC [B, H, W, C] -> [B, H, W, C]: tfjs's BatchNormalization (same weights
 * gamma / beta / moving_mean / moving_variance, same config, same class name, so saved models load in either)
 * whose training step uses a hand-written gradient on every backend and SIMD kernels on wasm. Other axes, or
 * center/scale off, fall back to the stock implementation.
 */
export class BatchNorm extends Stock {
  static className = 'BatchNormalization';
  /** Marks our subclasses (see stockClass). */
  static multichexnet = true;
  /** Whether a ReLU follows the normalisation inside this layer. */
  protected readonly fusedRelu: boolean = false;

  /** Normalised input [..., C], channels last, same shape: batch statistics in training, moving averages otherwise. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[] {
    const y = fastTrainingCall(this, inputs, kwargs, this.fusedRelu);
    if (y !== null) return y;
    return tf.tidy(() => {
      const out = stockCall.call(this, inputs, kwargs) as tf.Tensor;
      return this.fusedRelu ? tf.relu(out) : out;
    });
  }
}

/** BatchNorm followed by ReLU in one layer; serialises as {@link BATCH_NORM_RELU_CLASS_NAME}. */
export class BatchNormReLU extends BatchNorm {
  static override className = BATCH_NORM_RELU_CLASS_NAME;
  protected override readonly fusedRelu: boolean = true;
}

// Plain BatchNorm takes over tfjs's class name, so models saved by stock tfjs load as the fast layer too.
tf.serialization.SerializationMap.register(
  BatchNorm as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);
tf.serialization.SerializationMap.register(
  BatchNormReLU as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);

/**
 * The BatchNorm layer every block uses: [B, H, W, C] -> [B, H, W, C] (NHWC), normalised per channel. Blocks call
 * this factory instead of `tf.layers.batchNormalization`, so the fast training implementation of the wasm backend
 * applies everywhere at once. `relu: true` fuses the following ReLU into the same layer.
 * @example
 * const y = batchNorm({ name: 'enc_bn1', relu: true }).apply(convOut) as tf.SymbolicTensor;
 */
export function batchNorm(args: BatchNormArgs = {}): tf.layers.Layer {
  const { relu, ...rest } = args;
  const layerArgs = { axis: -1, momentum: 0.99, epsilon: 1e-3, ...rest };
  return relu === true ? new BatchNormReLU(layerArgs) : new BatchNorm(layerArgs);
}
