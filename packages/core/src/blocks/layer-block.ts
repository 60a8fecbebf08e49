import { tf } from '../tf';
import { DataError } from '../errors';
import type { ApplyOptions, Block } from './block';

/**
 * Base class of every block built from tfjs layers: it owns one functional `tf.LayersModel` and implements the
 * plumbing of the {@link Block} contract (weights, freezing, counting, disposal, named weight IO). Subclasses
 * build the model in their factory and map their typed inputs/outputs to the model's lists in `apply`.
 */
export abstract class LayerBlock<X, Y, C> implements Block<X, Y, C> {
  abstract readonly className: string;
  readonly config: C;
  /** The functional graph of this block. Public so the trainer can nest it and the ONNX exporter can walk it. */
  readonly layersModel: tf.LayersModel;
  private disposed = false;

  protected constructor(config: C, layersModel: tf.LayersModel) {
    this.config = config;
    this.layersModel = layersModel;
  }

  abstract apply(x: X, opts?: ApplyOptions): Y;

  /** Runs the wrapped model on a list of inputs; returns a list (one entry per model output). */
  protected run(inputs: (tf.Tensor | tf.SymbolicTensor)[], opts?: ApplyOptions): (tf.Tensor | tf.SymbolicTensor)[] {
    this.assertAlive();
    const out = this.layersModel.apply((inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor | tf.Tensor[], {
      training: opts?.training ?? false,
    }) as tf.Tensor | tf.SymbolicTensor | (tf.Tensor | tf.SymbolicTensor)[];
    return Array.isArray(out) ? out : [out];
  }

  get trainableWeights(): tf.LayerVariable[] {
    return this.layersModel.trainable ? this.layersModel.trainableWeights : [];
  }

  get weights(): tf.LayerVariable[] {
    return this.layersModel.weights;
  }

  get trainable(): boolean {
    return this.layersModel.trainable;
  }

  set trainable(value: boolean) {
    this.layersModel.trainable = value;
  }

  countParams(): number {
    return this.layersModel.countParams();
  }

  /**
   * Weights by stable name (`<layer>/<weight>`, independent of how many models the process created before).
   * The tensors are the live variables' values: do not dispose them.
   */
  namedWeights(): { name: string; variable: tf.LayerVariable }[] {
    return namedWeightsOf(this.layersModel);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.layersModel.dispose();
  }

  protected assertAlive(): void {
    if (this.disposed) throw new DataError(`Block ${this.className} was disposed and cannot be used`);
  }
}

/**
 * Stable names for the weights of a model: tfjs makes variable names unique per process by appending `_1`,
 * `_2`, ...; `originalName` is the name before that, scoped by layer, which is what files store.
 */
export function namedWeightsOf(model: tf.LayersModel): { name: string; variable: tf.LayerVariable }[] {
  const seen = new Map<string, number>();
  return model.weights.map((variable) => {
    const base = (variable as unknown as { originalName: string }).originalName ?? variable.name;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return { name: n === 0 ? base : `${base}#${n}`, variable };
  });
}
