// The GEMM peak of the wasm backend: tf.matMul of two n x n float32 matrices on our GEMM or on tfjs's stock kernel
// (MULTICHEXNET_GEMM=0, read per call), best of a few, in wall time and in process CPU time (the latter is what a
// busy shared machine does not distort, with one thread). Used by the densenet121 section through
// bench/lib/matmul-child.mjs (a fresh process per variant, so thread count and relaxed SIMD can differ).
import { performance } from 'node:perf_hooks';

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** { n, wallGflops, cpuGflops } of tf.matMul at n^3 with MULTICHEXNET_GEMM = `gemm` ('1' ours, '0' stock). */
export function matMulGflops(core, n, gemm, reps = 3) {
  const { tf } = core;
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const saved = process.env.MULTICHEXNET_GEMM;
  process.env.MULTICHEXNET_GEMM = gemm;
  try {
    tf.matMul(a, b).dispose();
    let wall = Infinity;
    let cpu = Infinity;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const c0 = cpuMs();
      const c = tf.matMul(a, b);
      c.dataSync();
      wall = Math.min(wall, performance.now() - t0);
      cpu = Math.min(cpu, cpuMs() - c0);
      c.dispose();
    }
    const flop = 2 * n ** 3;
    return { n, wallMs: wall, cpuMs: cpu, wallGflops: flop / wall / 1e6, cpuGflops: flop / cpu / 1e6 };
  } finally {
    if (saved === undefined) delete process.env.MULTICHEXNET_GEMM;
    else process.env.MULTICHEXNET_GEMM = saved;
    tf.dispose([a, b]);
  }
}
