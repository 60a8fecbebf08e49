import type { tf } from '@multichexnet/core';
import type { GraphBuilder, Value } from '../onnx/graph-builder';

/** A per-channel affine map y = x * scale + shift (an inference-mode BatchNorm), to fold into a producer. */
export interface AffineFold {
  scale: Float64Array;
  shift: Float64Array;
  /** The BatchNorm layer fused a ReLU after itself. */
  relu: boolean;
  /** Name of the folded BatchNorm layer (for node names). */
  from: string;
}

/** What a layer converter receives. */
export interface ConvertArgs {
  gb: GraphBuilder;
  layer: tf.layers.Layer;
  /** `layer.getConfig()`. */
  config: Record<string, unknown>;
  /** The converted inputs of this call of the layer. */
  inputs: Value[];
  /** The tfjs output shape of this call. */
  outShape: (number | null)[];
  /** Base for node and initializer names (the layer name). */
  base: string;
  /** A following BatchNorm to fold into this layer's weights (only offered to Conv2D, Conv2DTranspose, Dense). */
  fold: AffineFold | null;
}

/** Converts one call of a tfjs layer into ONNX nodes; returns the value standing for its output. */
export type LayerConverter = (args: ConvertArgs) => Value;
