// The lever ablation of the probe net, shared by the probe-levers section (in process, wall clock) and its
// single-threaded CPU-time child (bench/lib/levers-child.mjs).
import { probeTrainer } from './probe-net.mjs';

const BN_KERNELS = ['MCXBatchNormTraining', 'MCXBatchNormTrainingGrad'];
export const VARIANTS = [
  { lever: 'all levers', norm: 'core' },
  {
    lever: 'BatchNorm with hand-written gradient (vs tfjs BatchNormalization + ReLU layer on tfjs own path)',
    norm: 'stock',
    env: { MULTICHEXNET_LAYERS_BN: 'stock' },
  },
  {
    lever: 'fused BatchNorm + ReLU layer of core (vs stock tf.layers.batchNormalization + reLU, both on the fast path)',
    norm: 'stock',
  },
  {
    lever: 'own GEMM for convolutions, relaxed-SIMD FMA where available (vs XNNPACK)',
    norm: 'core',
    env: { MULTICHEXNET_GEMM: '0' },
  },
  { lever: 'SIMD BatchNorm kernels (vs the same gradient in plain tf ops)', norm: 'core', exclude: BN_KERNELS },
  {
    lever: 'Conv2DBackpropInput as a convolution on our GEMM (vs stock scalar kernel)',
    norm: 'core',
    exclude: ['Conv2DBackpropInput'],
  },
  {
    lever: 'Adam in one fused kernel per variable (vs tfjs AdamOptimizer ops)',
    norm: 'core',
    exclude: ['MCXAdamUpdate'],
  },
  {
    lever: 'Conv2DBackpropFilter as GEMM (vs swapped-axes XNNPACK conv)',
    norm: 'core',
    env: { MULTICHEXNET_BPF: 'swap' },
  },
  {
    lever: 'direct SIMD kernels for the 1-channel first layer (vs XNNPACK)',
    norm: 'core',
    env: { MULTICHEXNET_CONV1CH: '0' },
  },
  {
    lever: 'deferred input gradient: the image gradient of the first layer is never computed',
    norm: 'core',
    env: { MULTICHEXNET_DEFER: '0' },
  },
  { lever: 'MaxPoolGrad replacement (vs stock)', norm: 'core', exclude: ['MaxPoolGrad'] },
  { lever: 'Identity without a copy (vs stock)', norm: 'core', exclude: ['Identity'] },
  { lever: 'Cast without a copy (vs stock)', norm: 'core', exclude: ['Cast'] },
];
const ENV_KEYS = [
  'MULTICHEXNET_BPF',
  'MULTICHEXNET_CONV1CH',
  'MULTICHEXNET_DEFER',
  'MULTICHEXNET_GEMM',
  'MULTICHEXNET_LAYERS_BN',
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Wall-clock or process-CPU-time milliseconds. */
export function clockOf(kind) {
  if (kind === 'cpu') {
    return () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
  }
  return () => performance.now();
}

/**
 * Times one probe-net step per variant per round, rounds interleaved. Returns per-lever medians: the step time
 * without the lever, with all levers, and the difference.
 */
export function ablate(core, { size = 128, rounds = 9, clock = 'wall' } = {}) {
  const now = clockOf(clock);
  const trainers = {
    core: probeTrainer(core, { size, norm: 'core' }),
    stock: probeTrainer(core, { size, norm: 'stock' }),
  };
  const times = VARIANTS.map(() => []);
  const apply = (v) => {
    core.registerWasmTrainingKernels({ exclude: v.exclude ?? [] });
    for (const key of ENV_KEYS) delete process.env[key];
    Object.assign(process.env, v.env ?? {});
  };
  for (let r = -1; r < rounds; r++) {
    VARIANTS.forEach((v, i) => {
      apply(v);
      const t0 = now();
      trainers[v.norm].step();
      if (r >= 0) times[i].push(now() - t0);
    });
  }
  apply(VARIANTS[0]);
  trainers.core.dispose();
  trainers.stock.dispose();
  const all = median(times[0]);
  return {
    clock,
    allLeversMs: all,
    levers: VARIANTS.slice(1).map((v, k) => {
      const without = median(times[k + 1]);
      return { lever: v.lever, withoutMs: without, withMs: all, savesMs: without - all, samples: times[k + 1] };
    }),
    allSamples: times[0],
  };
}
