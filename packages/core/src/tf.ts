/**
 * The one TensorFlow.js instance of the whole project. Every package imports `tf` from `@multichexnet/core`,
 * never from `@tensorflow/tfjs` directly, so a program never holds two copies of the engine (two copies would
 * mean two kernel registries, two memory counters and tensors that cannot be mixed).
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
/** The exact tfjs version our wasm kernels were written against (they use backend internals). */
export const TFJS_VERSION = '4.22.0';
