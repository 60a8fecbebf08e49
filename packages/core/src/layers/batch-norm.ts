import { tf } from '../tf';
import { batchNormTraining } from './batch-norm-training';

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
    | [StockBatchNormClass, unknown]
    | undefined;
  if (entry === undefined) throw new Error('tfjs BatchNormalization is not registered');
  // Our own subclass replaces the entry below; walk up to the stock class if this module is evaluated twice.
  let cls = entry[0] as StockBatchNormClass & { multichexnet?: boolean };
  while (cls.multichexnet === true) cls = Object.getPrototypeOf(cls) as StockBatchNormClass & { multichexnet?: boolean };
  return cls;
}

const Stock = stockClass();

function isLastAxis(axis: number, rank: number): boolean {
  return axis === -1 || axis === rank - 1;
}

/**
 * BatchNorm over the last axis, NHWC [B, H, W, C] -> [B, H, W, C]: tfjs's BatchNormalization (same weights
 * gamma / beta / moving_mean / moving_variance, same config, same class name, so saved models load in either)
 * whose training step uses a hand-written gradient and, on wasm, SIMD kernels. Other axes, or center/scale off,
 * fall back to the stock implementation.
 */
export class BatchNorm extends Stock {
  static className = 'BatchNormalization';
  /** Marks our subclasses (see stockClass). */
  static multichexnet = true;
  /** Whether a ReLU follows the normalisation inside this layer. */
  protected readonly fusedRelu: boolean = false;

  /** Normalised input [..., C], channels last, same shape: batch statistics in training, moving averages otherwise. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const training = kwargs['training'] === true;
    if (!training || !this.center || !this.scale || !isLastAxis(this.axis, x.rank)) {
      return tf.tidy(() => {
        const y = super.call(inputs, kwargs) as tf.Tensor;
        return this.fusedRelu ? tf.relu(y) : y;
      });
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(
        x,
        this.gamma.read() as tf.Tensor1D,
        this.beta.read() as tf.Tensor1D,
        this.epsilon,
        this.fusedRelu,
      );
      // The moving averages exactly as tfjs BatchNormalization updates them.
      const decay = 1 - this.momentum;
      for (const [variable, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        const orig = variable.read();
        variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
      }
      mean.dispose();
      variance.dispose();
      return y;
    });
  }
}

/** BatchNorm followed by ReLU in one layer; serialises as {@link BATCH_NORM_RELU_CLASS_NAME}. */
export class BatchNormReLU extends BatchNorm {
  static override className = BATCH_NORM_RELU_CLASS_NAME;
  protected override readonly fusedRelu: boolean = true;
}

// Plain BatchNorm takes over tfjs's class name, so models saved by stock tfjs load as the fast layer too.
tf.serialization.SerializationMap.register(BatchNorm as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
tf.serialization.SerializationMap.register(BatchNormReLU as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

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
