// The GEMM peak of the wasm backend: tf.matMul of two n x n float32 matrices, timed on our GEMM and on tfjs's
// stock kernel (MULTICHEXNET_GEMM=0, read per call). Used by the densenet121 section (in process and in a child
// without relaxed SIMD, bench/lib/matmul-child.mjs).
import { performance } from 'node:perf_hooks';

/** Best-of-`reps` GFLOP/s of tf.matMul at n^3, with MULTICHEXNET_GEMM set to `gemm` ('1' ours, '0' stock). */
export function matMulGflops(core, n, gemm, reps = 3) {
  const { tf } = core;
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const saved = process.env.MULTICHEXNET_GEMM;
  process.env.MULTICHEXNET_GEMM = gemm;
  try {
    tf.matMul(a, b).dispose();
    let best = Infinity;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      best = Math.min(best, performance.now() - t0);
      c.dispose();
    }
    return { n, ms: best, gflops: (2 * n ** 3) / best / 1e6 };
  } finally {
    if (saved === undefined) delete process.env.MULTICHEXNET_GEMM;
    else process.env.MULTICHEXNET_GEMM = saved;
    tf.dispose([a, b]);
  }
}
