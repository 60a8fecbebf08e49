/**
 * Training-mode batch normalisation over the last axis with a hand-written gradient (tf.customGrad). On the wasm
 * backend with MultiCheXNet's kernels registered it runs as two SIMD kernels forward and two backward; on every
 * other backend it runs the same maths as plain tf ops, so results agree everywhere.
 */
import { tf } from '../tf';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../backend/kernels/batch-norm-kernels';

/** Output of {@link batchNormTraining}: the caller owns (disposes) `mean` and `variance`. */
export interface BatchNormTrainingResult {
  /** [..., C], same shape as x. */
  y: tf.Tensor;
  /** [C] batch mean. */
  mean: tf.Tensor1D;
  /** [C] biased batch variance (as tf.moments, as tfjs BatchNormalization uses for its moving average). */
  variance: tf.Tensor1D;
}

/** Whether the active backend is wasm with MultiCheXNet's BatchNorm kernels registered. */
export function wasmKernelsActive(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(BATCH_NORM_TRAINING, 'wasm') !== undefined;
}

function allButLast(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

/** x * scale + offset per channel, scale = gamma / sqrt(var + eps), offset = beta - mean * scale. */
function affine(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, eps: number) {
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
  const offset = tf.sub(beta, tf.mul(mean, scale));
  return { pre: tf.add(tf.mul(x, scale), offset), scale };
}

/**
 * y [..., C] = (x - mean) / sqrt(var + eps) * gamma + beta with batch statistics over all axes but the last,
 * then max(y, 0) when `relu`; differentiable in x, gamma and beta.
 * @example
 * const { y, mean, variance } = batchNormTraining(x, gamma, beta, 1e-3, true);
 * mean.dispose(); variance.dispose();
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  relu: boolean,
): BatchNormTrainingResult {
  let stats: [tf.Tensor1D, tf.Tensor1D] | null = null;
  const wasm = wasmKernelsActive();
  const axes = allButLast(x.rank);
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, g, b] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    let y: tf.Tensor;
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (wasm) {
      [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x: xi, gamma: g, beta: b }, {
        epsilon,
        relu,
      } as unknown as tf.NamedAttrMap) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
    } else {
      const m = tf.moments(xi, axes);
      mean = m.mean as tf.Tensor1D;
      variance = m.variance as tf.Tensor1D;
      const { pre } = affine(xi, g, b, mean, variance, epsilon);
      y = relu ? tf.relu(pre) : pre;
    }
    save([xi, g, b, mean, variance]);
    stats = [tf.keep(mean), tf.keep(variance)];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sb, sm, sv] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        if (wasm) {
          return tf
            .engine()
            .runKernel(BATCH_NORM_TRAINING_GRAD, { x: sx, dy, gamma: sg, beta: sb, mean: sm, variance: sv }, {
              epsilon,
              relu,
            } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        }
        return tf.tidy(() => {
          const n = sx.size / sx.shape[sx.rank - 1]!;
          const invStd = tf.rsqrt(tf.add(sv, epsilon));
          const { pre } = affine(sx, sg, sb, sm, sv, epsilon);
          const g = relu ? tf.mul(dy, tf.cast(tf.greater(pre, 0), 'float32')) : dy;
          const xmu = tf.sub(sx, sm);
          const sumG = tf.sum(g, axes);
          const sumGXmu = tf.sum(tf.mul(g, xmu), axes);
          const k = tf.mul(sg, invStd);
          const dx = tf.mul(
            k,
            tf.sub(tf.sub(g, tf.div(sumG, n)), tf.mul(xmu, tf.mul(tf.square(invStd), tf.div(sumGXmu, n)))),
          );
          return [dx, tf.mul(sumGXmu, invStd), sumG];
        });
      },
    };
  });
  const y = op(x, gamma, beta);
  const [mean, variance] = stats as unknown as [tf.Tensor1D, tf.Tensor1D];
  return { y, mean, variance };
}
