/**
 * Adam's update in one kernel per variable. tfjs's AdamOptimizer runs about fifteen element-wise ops per variable
 * and step (each a kernel call, each a pass over the parameters): for DenseNet-121's 364 variables that is some
 * 5,000 kernel calls a step. On wasm with this kernel registered, `tf.train.adam(...)` (and so model.fit with
 * 'adam') computes m, v and the new value in one SIMD pass, with tfjs's float32 operations in tfjs's order, so
 * the values are tfjs's. Everything else about the optimizer (state variables, their names, getWeights /
 * setWeights, the step counter) is tfjs's own; other backends keep tfjs's implementation.
 */
import { tf } from '../../tf';
import { requireSimd, runParts } from './kernel-context';
import { imageParts, type KernelArgs, wasmKernelConfig } from './kernel-setup';
import type { AdamArgs } from '../simd/simd-kernels';
import { asWasm, ptrOf, sizeOf } from './wasm-backend';

/** Kernel name (custom: wasm only). */
export const ADAM_UPDATE = 'MCXAdamUpdate';

interface AdamAttrs {
  beta1: number;
  beta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  learningRate: number;
}

function adamUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(args.backend);
  const { value, gradient, m, v } = args.inputs as Record<string, tf.TensorInfo>;
  const a = args.attrs as unknown as AdamAttrs;
  const outs = [value!, m!, v!].map((t) => backend.makeOutput(t.shape, 'float32'));
  const n = sizeOf(value!.shape);
  if (n === 0) return outs;
  requireSimd(backend, ADAM_UPDATE);
  const f = Math.fround;
  const scalars = [
    f(a.beta1),
    f(1 - a.beta1),
    f(a.beta2),
    f(1 - a.beta2),
    f(a.oneMinusAccBeta1),
    f(a.oneMinusAccBeta2),
    f(a.epsilon),
    f(-a.learningRate),
  ];
  const ptrs = [value!, gradient!, m!, v!, ...outs].map((t) => ptrOf(backend, t));
  const parts = imageParts(backend, Math.ceil(n / 4), 4, 65536).map(
    ([p0, p1]) => [p0 * 4, Math.min(n, p1 * 4)] as const,
  );
  runParts(
    backend,
    ADAM_UPDATE,
    'adamUpdate',
    parts,
    (i0, i1) => [...ptrs.map((p) => p + i0 * 4), i1 - i0, ...scalars] as AdamArgs,
  );
  return outs;
}

/** Kernel config: registered by registerWasmTrainingKernels(). */
export const adamUpdateConfig: tf.KernelConfig = wasmKernelConfig(ADAM_UPDATE, adamUpdate);

/** What Optimizer.applyGradients takes as a list. */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** The parts of tfjs's AdamOptimizer the fused step reads and writes. */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  incrementIterations(): void;
}

let installed = false;

/**
 * Makes `AdamOptimizer.applyGradients` use {@link ADAM_UPDATE} when the active backend is wasm with that kernel
 * registered (tfjs's own code otherwise). The bookkeeping is tfjs's, line for line; only the per-variable maths is
 * one kernel. Idempotent.
 */
export function installFusedAdam(): void {
  if (installed) return;
  installed = true;
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients(g: tf.NamedTensorMap | NamedTensor[]): void };
  const stock = proto.applyGradients;
  proto.applyGradients = function (this: AdamState, variableGradients: tf.NamedTensorMap | NamedTensor[]) {
    if (tf.getBackend() !== 'wasm' || tf.getKernel(ADAM_UPDATE, 'wasm') === undefined)
      return stock.call(this, variableGradients);
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    const variables = (tf.engine() as unknown as { registeredVariables: Record<string, tf.Variable> })
      .registeredVariables;
    const oneMinusAccBeta1 = tf.tidy(() => tf.sub(1, this.accBeta1).dataSync()[0]!);
    const oneMinusAccBeta2 = tf.tidy(() => tf.sub(1, this.accBeta2).dataSync()[0]!);
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = variables[name]!;
        this.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        this.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = this.accumulatedFirstMoment[i]!.variable;
        const v = this.accumulatedSecondMoment[i]!.variable;
        if (value.dtype !== 'float32' || gradient.dtype !== 'float32')
          throw new Error(`Adam on wasm: variable ${name} must be float32, got ${value.dtype}`);
        const [newValue, newM, newV] = tf.engine().runKernel(ADAM_UPDATE, { value, gradient, m, v }, {
          beta1: this.beta1,
          beta2: this.beta2,
          oneMinusAccBeta1,
          oneMinusAccBeta2,
          epsilon: this.epsilon,
          learningRate: this.learningRate,
        } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  };
}
