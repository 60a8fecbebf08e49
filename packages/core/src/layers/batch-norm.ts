import { tf } from '../tf';

/** Arguments of {@link batchNorm}: the subset of tfjs BatchNormalization options the project uses. */
export interface BatchNormArgs {
  name?: string;
  /** Default -1 (channels last). */
  axis?: number;
  momentum?: number;
  epsilon?: number;
  /** Fuse a ReLU after the normalisation (one kernel on wasm). */
  relu?: boolean;
}

/**
 * The BatchNorm layer every block uses. Blocks call this factory instead of `tf.layers.batchNormalization`, so the
 * fast training implementation of the wasm backend applies everywhere at once.
 * Returns a layer that maps [B, H, W, C] -> [B, H, W, C] (NHWC).
 */
export function batchNorm(args: BatchNormArgs = {}): tf.layers.Layer {
  const { relu, ...rest } = args;
  const layer = tf.layers.batchNormalization({ axis: -1, momentum: 0.99, epsilon: 1e-3, ...rest });
  if (relu) {
    // Without the fused layer, a ReLU after BN is a separate activation layer applied by the caller.
    throw new Error('batchNorm({ relu: true }) needs the fused layer; apply tf.layers.reLU() after batchNorm()');
  }
  return layer;
}
